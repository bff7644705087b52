import { readFileSync } from "node:fs";
import { createServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import {
  Client,
  credentials,
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcChannel, openChannel, type Transport } from "../../src/collect/grpc/channel.js";
import { decodeGrpcMessage, encodeGrpcMessage, grpcStatusError } from "../../src/collect/grpc/grpc-status.js";
import { Http2Channel } from "../../src/collect/grpc/http2-channel.js";
import { type GrpcMethod, type RunningGrpcServer, serveGrpc } from "../../src/collect/grpc/http2-server.js";
import { FramingError, frameMessages, MessageDeframer } from "../../src/collect/grpc/message-framing.js";
import { type MtlsFiles, makeMtlsFiles } from "../helpers/mtls-certs.js";
import { tempDir } from "../helpers/paths.js";

/**
 * The node:http2 gRPC transports of the Hubble hot path, against each other and against grpc-js
 * on the other side: the replay server must stay a real gRPC server, the collector a real client.
 */

const UNARY = "/test.Echo/Unary";
const STREAM = "/test.Echo/Stream";
const FAIL = "/test.Echo/Fail";
const raw = (b: Buffer) => b;
const message = (i: number) => Buffer.from(`message ${i} ${"x".repeat(i % 50)}`);

describe("gRPC message framing", () => {
  const messages = [message(1), Buffer.alloc(0), message(2), Buffer.alloc(70_000, 7), message(3)];
  const framed = frameMessages(messages);
  it.each([
    { split: "one chunk", at: [] as number[] },
    { split: "a chunk per byte of the first header", at: [1, 2, 3, 4, 5] },
    { split: "mid-message", at: [10, 40, 30_000] },
    { split: "on message boundaries", at: [5 + messages[0]!.length, 10 + messages[0]!.length] },
    {
      split: "every 1,000 bytes",
      at: Array.from({ length: Math.floor(framed.length / 1000) }, (_, i) => (i + 1) * 1000),
    },
  ])("splits messages back out of $split", ({ at }) => {
    const deframer = new MessageDeframer();
    const out: Buffer[] = [];
    let from = 0;
    for (const to of [...at, framed.length]) {
      deframer.push(framed.subarray(from, to), (m) => out.push(Buffer.from(m)));
      from = to;
    }
    expect(out).toEqual(messages);
    expect(deframer.pendingBytes).toBe(0);
  });

  it("counts the bytes of a message the stream was cut in", () => {
    const deframer = new MessageDeframer();
    deframer.push(framed.subarray(0, 5 + messages[0]!.length + 3), () => {});
    expect(deframer.pendingBytes).toBe(3);
  });

  it.each([
    { what: "a compressed message", bytes: Buffer.from([1, 0, 0, 0, 1, 9]), error: /compressed/ },
    { what: "a message over the limit", bytes: Buffer.from([0, 0, 0, 1, 0]), error: /more than the limit of 100/ },
  ])("rejects $what", ({ bytes, error }) => {
    expect(() => new MessageDeframer(100).push(bytes, () => {})).toThrow(FramingError);
    expect(() => new MessageDeframer(100).push(bytes, () => {})).toThrow(error);
  });

  it.each(["plain", "100% sure", "naïve: ünïcode\nand newline"])("percent-encodes grpc-message %j", (text) => {
    const encoded = encodeGrpcMessage(text);
    expect(encoded).toMatch(/^[\x20-\x7e]*$/);
    expect(decodeGrpcMessage(encoded)).toBe(text);
  });
});

/** The test service on the lean server: echo, a stream of N messages written 64 at a time, errors. */
function echoMethods(cancelled: { count: number }): Map<string, GrpcMethod> {
  return new Map<string, GrpcMethod>([
    [UNARY, { kind: "unary", handle: (req) => Buffer.concat([Buffer.from("echo: "), req]) }],
    [
      STREAM,
      {
        kind: "server-stream",
        handle: async (req, response) => {
          const n = Number.parseInt(req.toString(), 10);
          const follow = n < 0;
          for (let i = 0; i < Math.abs(n); i += 64) {
            const batch = Array.from({ length: Math.min(64, Math.abs(n) - i) }, (_, j) => message(i + j));
            if (!response.write(batch)) await response.drained();
          }
          if (follow) {
            await response.closed;
            if (response.cancelled) cancelled.count++;
            return;
          }
          if (req.toString().endsWith("fail")) throw grpcStatusError(status.ABORTED, "gave up after the messages");
          response.end();
        },
      },
    ],
    [
      FAIL,
      {
        kind: "unary",
        handle: (req) => {
          throw grpcStatusError(status.INVALID_ARGUMENT, `bad request: ${req.toString()} (100% wrong, ünïcode)`);
        },
      },
    ],
  ]);
}

function grpcJsUnary(client: Client, path: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(path, raw, raw, request, (err: ServiceError | null, value?: Buffer) =>
      err || !value ? reject(err) : resolve(value),
    ),
  );
}

function grpcJsStream(
  client: Client,
  path: string,
  request: Buffer,
): Promise<{ messages: Buffer[]; error?: ServiceError }> {
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    const call = client.makeServerStreamRequest(path, raw, raw, request);
    call.on("data", (b: Buffer) => messages.push(b));
    call.on("error", (error: ServiceError) => resolve({ messages, error }));
    call.on("end", () => resolve({ messages }));
  });
}

describe("the node:http2 gRPC server answers a grpc-js client", () => {
  const cancelled = { count: 0 };
  let server: RunningGrpcServer;
  let client: Client;
  beforeAll(async () => {
    server = await serveGrpc("127.0.0.1:0", echoMethods(cancelled));
    client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it("answers a unary call", async () => {
    expect((await grpcJsUnary(client, UNARY, Buffer.from("hi"))).toString()).toBe("echo: hi");
  });

  it("streams 10,000 messages in order, written 64 per HTTP/2 write", async () => {
    const { messages, error } = await grpcJsStream(client, STREAM, Buffer.from("10000"));
    expect(error).toBeUndefined();
    expect(messages).toHaveLength(10_000);
    expect(messages.every((m, i) => m.equals(message(i)))).toBe(true);
  });

  it("sends a handler's error as a trailers-only response, message intact", async () => {
    const err = await grpcJsUnary(client, FAIL, Buffer.from("x")).catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((err as ServiceError).details).toBe("bad request: x (100% wrong, ünïcode)");
  });

  it("sends an error after messages in the trailers", async () => {
    const { messages, error } = await grpcJsStream(client, STREAM, Buffer.from("100fail"));
    expect(messages).toHaveLength(100);
    expect(error?.code).toBe(status.ABORTED);
    expect(error?.details).toBe("gave up after the messages");
  });

  it("answers an unknown method with UNIMPLEMENTED", async () => {
    const err = await grpcJsUnary(client, "/test.Echo/Nope", Buffer.alloc(0)).catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe(status.UNIMPLEMENTED);
  });

  it("sees a client cancel a follow stream", async () => {
    const call = client.makeServerStreamRequest(STREAM, raw, raw, Buffer.from("-10"));
    await new Promise<void>((resolve) => {
      let n = 0;
      call.on("data", () => {
        if (++n === 10) resolve();
      });
    });
    call.on("error", () => {});
    call.cancel();
    for (let i = 0; i < 100 && cancelled.count === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelled.count).toBe(1);
  });
});

/** A grpc-js method definition whose messages are the raw bytes. */
function rawMethod(path: string, responseStream: boolean) {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}

/** A grpc-js server with the same echo service: the lean client must read what grpc-js sends. */
async function startGrpcJsServer(): Promise<{ port: number; server: Server }> {
  const server = new Server();
  server.addService(
    { Unary: rawMethod(UNARY, false), Stream: rawMethod(STREAM, true), Fail: rawMethod(FAIL, false) },
    {
      Unary: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) =>
        cb(null, Buffer.concat([Buffer.from("echo: "), call.request])),
      Stream: (call: ServerWritableStream<Buffer, Buffer>) => {
        for (let i = 0; i < Number(call.request.toString()); i++) call.write(message(i));
        call.end();
      },
      Fail: (_call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) =>
        cb({ code: status.PERMISSION_DENIED, details: "not you (100%)", metadata: undefined as unknown as Metadata }),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { port, server };
}

async function collectStream(channel: GrpcChannel, path: string, request: string, deadlineMs?: number) {
  const messages: Buffer[] = [];
  const call = channel.serverStream(
    path,
    Buffer.from(request),
    (m: Buffer) => messages.push(Buffer.from(m)),
    deadlineMs,
  );
  const error = await call.done;
  return { messages, error };
}

const TRANSPORTS: Transport[] = ["http2", "grpc-js"];

describe.each(TRANSPORTS)("the gRPC channel on %s reads a grpc-js server", (transport) => {
  let grpcJs: { port: number; server: Server };
  let channel: GrpcChannel;
  beforeAll(async () => {
    grpcJs = await startGrpcJsServer();
    channel = openChannel(`127.0.0.1:${grpcJs.port}`, undefined, transport);
  });
  afterAll(() => {
    channel.close();
    grpcJs.server.forceShutdown();
  });

  it("makes a unary call", async () => {
    expect((await channel.unary(UNARY, Buffer.from("hi"), 5000)).toString()).toBe("echo: hi");
  });

  it("reads a stream of one DATA frame per message", async () => {
    const { messages, error } = await collectStream(channel, STREAM, "5000");
    expect(error).toBeUndefined();
    expect(messages.every((m, i) => m.equals(message(i)))).toBe(true);
    expect(messages).toHaveLength(5000);
  });

  it.each([
    { what: "a status error", path: FAIL, code: status.PERMISSION_DENIED, details: "not you (100%)" },
    { what: "an unknown method", path: "/test.Echo/Nope", code: status.UNIMPLEMENTED, details: expect.any(String) },
  ])("reports $what with its code and message", async ({ path, code, details }) => {
    const err = await channel.unary(path, Buffer.alloc(0), 5000).catch((e: ServiceError) => e);
    expect(err).toMatchObject({ code, details });
  });
});

/** A raw HTTP/2 server that answers every stream as a test case scripts it. */
async function scriptedServer(
  answer: (stream: ServerHttp2Stream) => void,
): Promise<{ port: number; server: Http2Server }> {
  const server = createServer();
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.on("data", () => {});
    stream.on("end", () => answer(stream));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

const GRPC_HEADERS = { ":status": 200, "content-type": "application/grpc" };

describe("the node:http2 gRPC client names every way a call can end", () => {
  it.each([
    {
      what: "a trailers-only error",
      answer: (s: ServerHttp2Stream) =>
        s.respond({ ...GRPC_HEADERS, "grpc-status": "5", "grpc-message": "no%20such%20thing" }, { endStream: true }),
      code: status.NOT_FOUND,
      details: "no such thing",
      messages: 0,
    },
    {
      what: "a stream cut mid-message",
      answer: (s: ServerHttp2Stream) => {
        s.respond(GRPC_HEADERS);
        const framed = frameMessages([message(1), message(2)]);
        s.end(framed.subarray(0, framed.length - 3));
      },
      code: status.INTERNAL,
      details: expect.stringMatching(/ended in the middle of a message/),
      messages: 1,
    },
    {
      what: "a stream that ends without grpc-status",
      answer: (s: ServerHttp2Stream) => {
        s.respond(GRPC_HEADERS);
        s.end(frameMessages([message(1)]));
      },
      code: status.INTERNAL,
      details: expect.stringMatching(/without a grpc-status/),
      messages: 1,
    },
    {
      what: "an HTTP 503",
      answer: (s: ServerHttp2Stream) => s.respond({ ":status": 503 }, { endStream: true }),
      code: status.UNAVAILABLE,
      details: "received HTTP status 503",
      messages: 0,
    },
    {
      what: "a response that is not gRPC",
      answer: (s: ServerHttp2Stream) => s.respond({ ":status": 200, "content-type": "text/html" }, { endStream: true }),
      code: status.UNKNOWN,
      details: expect.stringMatching(/text\/html/),
      messages: 0,
    },
    {
      what: "a stream the server resets as refused",
      answer: (s: ServerHttp2Stream) => s.close(7),
      code: status.UNAVAILABLE,
      details: expect.any(String),
      messages: 0,
    },
    {
      what: "a connection the server drops mid-stream",
      answer: (s: ServerHttp2Stream) => {
        s.respond(GRPC_HEADERS);
        s.write(frameMessages([message(1)]), () => s.session?.destroy());
      },
      code: expect.toSatisfy((c: number) => [status.UNAVAILABLE, status.INTERNAL, status.CANCELLED].includes(c)),
      details: expect.any(String),
      messages: 1,
    },
  ])("$what", async ({ answer, code, details, messages }) => {
    const { port, server } = await scriptedServer(answer);
    const channel = new Http2Channel(`127.0.0.1:${port}`);
    try {
      const result = await collectStream(channel, STREAM, "");
      expect(result.error).toMatchObject({ code, details });
      expect(result.messages).toHaveLength(messages);
    } finally {
      channel.close();
      server.close();
    }
  });
});

describe.each(TRANSPORTS)("the gRPC channel on %s ends every call with a status", (transport) => {
  it("a refused connection is UNAVAILABLE and names ECONNREFUSED", async () => {
    const { port, server } = await scriptedServer(() => {});
    await new Promise((r) => server.close(r));
    const channel = openChannel(`127.0.0.1:${port}`, undefined, transport);
    const { error } = await collectStream(channel, STREAM, "");
    channel.close();
    expect(error).toMatchObject({ code: status.UNAVAILABLE, details: expect.stringMatching(/ECONNREFUSED/) });
  });

  it("a server that never answers runs into the deadline", async () => {
    const { port, server } = await scriptedServer(() => {});
    const channel = openChannel(`127.0.0.1:${port}`, undefined, transport);
    const { error } = await collectStream(channel, STREAM, "", 200);
    channel.close();
    server.close();
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
  });

  it("a cancelled call ends CANCELLED", async () => {
    const { port, server } = await scriptedServer((s) => s.respond(GRPC_HEADERS));
    const channel = openChannel(`127.0.0.1:${port}`, undefined, transport);
    const call = channel.serverStream(STREAM, Buffer.alloc(0), () => {});
    setTimeout(() => call.cancel(), 50);
    expect((await call.done)?.code).toBe(status.CANCELLED);
    channel.close();
    server.close();
  });
});

describe("the node:http2 gRPC transports over TLS and mutual TLS", () => {
  const tmp = tempDir("flowpol-grpc-tls-");
  let certs: MtlsFiles;
  let tls: RunningGrpcServer;
  let mtls: RunningGrpcServer;
  const read = (f: string) => readFileSync(f);
  beforeAll(async () => {
    certs = makeMtlsFiles(tmp.dir);
    const key = { cert: read(certs.serverCert), key: read(certs.serverKey) };
    [tls, mtls] = await Promise.all([
      serveGrpc("127.0.0.1:0", echoMethods({ count: 0 }), key),
      serveGrpc("127.0.0.1:0", echoMethods({ count: 0 }), { ...key, clientCa: read(certs.caCert) }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([tls.close(), mtls.close()]);
    tmp.cleanup();
  });

  const grpcJsClient = (server: RunningGrpcServer, withClientCert: boolean) =>
    new Client(
      `127.0.0.1:${server.port}`,
      credentials.createSsl(
        read(certs.caCert),
        withClientCert ? read(certs.clientKey) : null,
        withClientCert ? read(certs.clientCert) : null,
      ),
      { "grpc.ssl_target_name_override": "goldmane", "grpc.default_authority": "goldmane" },
    );
  const leanChannel = (server: RunningGrpcServer, withClientCert: boolean) =>
    new Http2Channel(`127.0.0.1:${server.port}`, {
      tls: {
        ca: read(certs.caCert),
        servername: "goldmane",
        ...(withClientCert ? { cert: read(certs.clientCert), key: read(certs.clientKey) } : {}),
      },
      authority: "goldmane",
    });

  it.each([
    { what: "TLS", mutual: false },
    { what: "mutual TLS", mutual: true },
  ])("a grpc-js client and the lean client both call the lean server over $what", async ({ mutual }) => {
    const server = mutual ? mtls : tls;
    const client = grpcJsClient(server, mutual);
    const channel = leanChannel(server, mutual);
    try {
      expect((await grpcJsUnary(client, UNARY, Buffer.from("a"))).toString()).toBe("echo: a");
      expect((await grpcJsStream(client, STREAM, Buffer.from("500"))).messages).toHaveLength(500);
      expect((await channel.unary(UNARY, Buffer.from("b"), 5000)).toString()).toBe("echo: b");
      expect((await collectStream(channel, STREAM, "500")).messages).toHaveLength(500);
    } finally {
      client.close();
      channel.close();
    }
  });

  it("the mutual-TLS server refuses a client without a certificate, and the error says so", async () => {
    const client = grpcJsClient(mtls, false);
    const channel = leanChannel(mtls, false);
    try {
      const viaGrpcJs = await grpcJsUnary(client, UNARY, Buffer.from("a")).catch((e: ServiceError) => e);
      const viaLean = await channel.unary(UNARY, Buffer.from("a"), 5000).catch((e: ServiceError) => e);
      for (const err of [viaGrpcJs, viaLean]) {
        expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
        expect((err as ServiceError).details).toMatch(/certificate required|alert number 116|handshake failure/i);
      }
    } finally {
      client.close();
      channel.close();
    }
  });
});
