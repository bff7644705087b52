import {
  createSecureServer,
  createServer,
  type Http2Server,
  type Http2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { type ServiceError, status } from "@grpc/grpc-js";
import { encodeGrpcMessage } from "./grpc-status.js";
import { type FramingError, frameMessages, MessageDeframer } from "./message-framing.js";

/**
 * A small gRPC server on node:http2, for servers whose streams must be fast: a server-streaming
 * handler writes many length-prefixed messages with one HTTP/2 write (grpc-js writes one DATA
 * frame per message, which caps a stream below 50,000 messages/s on one core). It speaks the
 * gRPC-over-HTTP/2 protocol any gRPC client expects: `application/grpc`, status in trailers (or
 * trailers-only for an immediate error), UNIMPLEMENTED for unknown methods, TLS and mutual TLS
 * with ALPN h2. Handlers throw `grpcStatusError` to answer with a status other than OK.
 */

export interface GrpcServerTls {
  cert: Buffer;
  key: Buffer;
  /** Require client certificates signed by this CA (mutual TLS). */
  clientCa?: Buffer;
}

/** The response side of a server-streaming call. */
export class ResponseStream {
  private headersSent = false;
  private finalStatus: { code: status; message: string } = { code: status.OK, message: "" };
  /** Resolves when the stream closes, whichever side closed it. */
  readonly closed: Promise<void>;

  constructor(private readonly stream: ServerHttp2Stream) {
    this.closed = new Promise((resolve) => stream.once("close", resolve));
    stream.on("wantTrailers", () => {
      const trailers: Record<string, string> = { "grpc-status": String(this.finalStatus.code) };
      if (this.finalStatus.message) trailers["grpc-message"] = encodeGrpcMessage(this.finalStatus.message);
      stream.sendTrailers(trailers);
    });
  }

  /** The client went away or cancelled: stop writing. */
  get cancelled(): boolean {
    return this.stream.closed || this.stream.destroyed;
  }

  /** Writes messages in one write; false when the caller should wait for `drained()`. */
  write(messages: readonly Uint8Array[]): boolean {
    if (this.cancelled) return true;
    this.sendHeaders();
    return this.stream.write(frameMessages(messages));
  }

  drained(): Promise<void> {
    if (this.cancelled) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off("drain", done);
        resolve();
      };
      this.stream.once("drain", done);
      void this.closed.then(done);
    });
  }

  /** Ends the call with a status (OK by default). */
  end(code: status = status.OK, message = ""): void {
    if (this.cancelled) return;
    if (!this.headersSent) {
      respondTrailersOnly(this.stream, code, message);
      return;
    }
    this.finalStatus = { code, message };
    this.stream.end();
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  }
}

export type GrpcMethod =
  | { kind: "unary"; handle: (request: Buffer) => Uint8Array | Promise<Uint8Array> }
  | { kind: "server-stream"; handle: (request: Buffer, response: ResponseStream) => void | Promise<void> };

export interface RunningGrpcServer {
  port: number;
  /** Ends open streams with status OK, then closes; connections still open after 1s are dropped. */
  close(): Promise<void>;
}

function respondTrailersOnly(stream: ServerHttp2Stream, code: status, message: string): void {
  if (stream.headersSent || stream.closed || stream.destroyed) return;
  const headers: Record<string, string | number> = {
    ":status": 200,
    "content-type": "application/grpc",
    "grpc-status": String(code),
  };
  if (message) headers["grpc-message"] = encodeGrpcMessage(message);
  stream.respond(headers, { endStream: true });
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}

/** Parses `host:port` or `[v6]:port`. */
function parseListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`"${listen}" is not host:port`);
  }
  return { host, port };
}

export async function serveGrpc(
  listen: string,
  methods: ReadonlyMap<string, GrpcMethod>,
  tls?: GrpcServerTls,
): Promise<RunningGrpcServer> {
  const server: Http2Server = tls
    ? createSecureServer({
        cert: tls.cert,
        key: tls.key,
        ALPNProtocols: ["h2"],
        ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      })
    : createServer();
  const sessions = new Set<Http2Session>();
  const streams = new Set<ResponseStream>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {}); // a client that goes away is not the server's problem
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {}); // reset by the client: the stream closes, handlers see `cancelled`
    const contentType = String(headers["content-type"] ?? "");
    if (headers[":method"] !== "POST" || !contentType.startsWith("application/grpc")) {
      stream.respond({ ":status": 415, "content-type": "text/plain" }, { endStream: true });
      return;
    }
    const path = String(headers[":path"]);
    const method = methods.get(path);
    if (!method) {
      respondTrailersOnly(stream, status.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    const deframer = new MessageDeframer();
    const messages: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => {
      try {
        deframer.push(chunk, (m) => messages.push(Buffer.from(m)));
      } catch (err) {
        respondTrailersOnly(stream, status.INTERNAL, (err as FramingError).message);
      }
    });
    stream.on("end", () => {
      if (stream.headersSent || stream.closed) return;
      void answer(stream, method, messages[0] ?? Buffer.alloc(0), streams);
    });
  });

  const port = await new Promise<number>((resolve, reject) => {
    const { host, port: wanted } = parseListen(listen);
    server.once("error", reject);
    server.listen(wanted, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        const force = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, 1000);
        for (const s of sessions) s.close();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

async function answer(
  stream: ServerHttp2Stream,
  method: GrpcMethod,
  request: Buffer,
  streams: Set<ResponseStream>,
): Promise<void> {
  const response = new ResponseStream(stream);
  try {
    if (method.kind === "unary") {
      const message = await method.handle(request);
      response.write([message]);
      response.end();
      return;
    }
    streams.add(response);
    void response.closed.then(() => streams.delete(response));
    await method.handle(request, response);
  } catch (err) {
    if (isServiceError(err)) response.end(err.code, err.details);
    else response.end(status.UNKNOWN, (err as Error).message);
  }
}
