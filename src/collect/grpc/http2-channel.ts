import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import type { ConnectionOptions } from "node:tls";
import { type ServiceError, status } from "@grpc/grpc-js";
import type { CallOutcome, GrpcChannel, StreamCall } from "./channel.js";
import { grpcCodeOfHttpStatus, grpcStatusError, statusOfHeaders } from "./grpc-status.js";
import { FramingError, frameMessages, MessageDeframer } from "./message-framing.js";

/**
 * A lean gRPC client on node:http2 for calls whose stream must be fast: it hands over each
 * message as a view of the DATA chunk it arrived in, and asks for large flow-control windows so
 * the server rarely waits for WINDOW_UPDATEs. Every way a call can end becomes a grpc-js shaped
 * ServiceError (or OK): grpc-status trailers, a trailers-only response, a non-gRPC HTTP answer, a
 * reset stream, a connection or TLS failure, a stream cut mid-message, a deadline.
 */

/** Per-stream and per-connection receive windows: bounded memory, few WINDOW_UPDATE frames. */
const STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;

export interface Http2ChannelOptions {
  /** TLS options (CA, client certificate, server name); plaintext when undefined. */
  tls?: ConnectionOptions;
  /** The `:authority` to send (the TLS server name when one is set); defaults to the address. */
  authority?: string;
}

/** One HTTP/2 connection to `host:port`, made on first use and again after it breaks. */
export class Http2Channel implements GrpcChannel {
  private session: ClientHttp2Session | undefined;

  constructor(
    private readonly address: string,
    private readonly options: Http2ChannelOptions = {},
  ) {}

  private connection(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const scheme = this.options.tls ? "https" : "http";
    const sessionOptions: SecureClientSessionOptions = {
      ...(this.options.tls ?? {}),
      ALPNProtocols: ["h2"],
      settings: { initialWindowSize: STREAM_WINDOW_BYTES, enablePush: false },
    };
    const session = connect(`${scheme}://${this.address}`, sessionOptions);
    session.on("error", () => {}); // surfaces on the streams, with the cause
    session.once("connect", () => session.setLocalWindowSize(SESSION_WINDOW_BYTES));
    this.session = session;
    return session;
  }

  /** Starts a server-streaming call; each response message goes to `onMessage`. */
  serverStream(
    path: string,
    request: Uint8Array,
    onMessage: (message: Buffer) => void,
    deadlineMs?: number,
  ): ServerStreamCall {
    return new ServerStreamCall(this.open(path, request, deadlineMs), onMessage, deadlineMs);
  }

  /** A unary call: resolves with the response bytes, rejects with a ServiceError. */
  async unary(path: string, request: Uint8Array, deadlineMs: number): Promise<Buffer> {
    const messages: Buffer[] = [];
    const call = this.serverStream(path, request, (m) => messages.push(Buffer.from(m)), deadlineMs);
    const outcome = await call.done;
    if (outcome) throw outcome;
    const [response] = messages;
    if (messages.length !== 1 || !response) {
      throw grpcStatusError(status.UNIMPLEMENTED, `a unary call got ${messages.length} responses`);
    }
    return response;
  }

  private open(path: string, request: Uint8Array, deadlineMs: number | undefined): ClientHttp2Stream {
    const headers: Record<string, string> = {
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      "user-agent": "flowpol",
    };
    if (this.options.authority) headers[":authority"] = this.options.authority;
    if (deadlineMs !== undefined) headers["grpc-timeout"] = `${Math.max(1, Math.ceil(deadlineMs))}m`;
    const stream = this.connection().request(headers);
    stream.end(frameMessages([request]));
    return stream;
  }

  /** Drops the connection at once: calls still open end with UNAVAILABLE. */
  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }
}

/** Why an HTTP/2 stream was reset, as a gRPC code (the mapping grpc-js uses). */
function codeOfResetStream(rstCode: number): status {
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return status.UNAVAILABLE;
    case constants.NGHTTP2_CANCEL:
      return status.CANCELLED;
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return status.RESOURCE_EXHAUSTED;
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return status.PERMISSION_DENIED;
    default:
      return status.INTERNAL;
  }
}

/** The message of an error and of its causes, which name what actually failed. */
function describe(err: Error): string {
  const parts = [err.message];
  let cause = err.cause;
  while (cause instanceof Error && !parts.some((p) => p.includes(cause instanceof Error ? cause.message : ""))) {
    parts.push(cause.message);
    cause = cause.cause;
  }
  return parts.join(": ");
}

export class ServerStreamCall implements StreamCall {
  /** Resolves once, with how the call ended. */
  readonly done: Promise<CallOutcome>;
  private finish!: (outcome: CallOutcome) => void;
  private finished = false;
  private trailerStatus: ServiceError | undefined;
  private sawStatus = false;
  private readonly deframer = new MessageDeframer();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ClientHttp2Stream,
    onMessage: (message: Buffer) => void,
    deadlineMs: number | undefined,
  ) {
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
    if (deadlineMs !== undefined) {
      this.timer = setTimeout(
        () => this.end(grpcStatusError(status.DEADLINE_EXCEEDED, "deadline exceeded"), constants.NGHTTP2_CANCEL),
        deadlineMs,
      );
    }
    stream.on("response", (headers: IncomingHttpHeaders) => {
      const httpStatus = Number(headers[":status"]);
      if (httpStatus !== 200) {
        const err = grpcStatusError(grpcCodeOfHttpStatus(httpStatus), `received HTTP status ${httpStatus}`);
        this.end(err, constants.NGHTTP2_CANCEL);
        return;
      }
      const contentType = String(headers["content-type"] ?? "");
      if (!contentType.startsWith("application/grpc")) {
        this.end(
          grpcStatusError(status.UNKNOWN, `received content-type "${contentType}", not a gRPC response`),
          constants.NGHTTP2_CANCEL,
        );
        return;
      }
      this.recordStatus(headers); // a trailers-only response carries the status in the headers
    });
    stream.on("data", (chunk: Buffer) => {
      if (this.finished) return;
      try {
        this.deframer.push(chunk, onMessage);
      } catch (err) {
        if (!(err instanceof FramingError)) throw err;
        this.end(grpcStatusError(status.INTERNAL, err.message), constants.NGHTTP2_CANCEL);
      }
    });
    stream.on("trailers", (trailers: IncomingHttpHeaders) => this.recordStatus(trailers));
    stream.on("end", () => this.settle());
    stream.on("error", (err: Error) => {
      const rst = (err as NodeJS.ErrnoException).code === "ERR_HTTP2_STREAM_ERROR";
      this.end(grpcStatusError(rst ? codeOfResetStream(stream.rstCode ?? 0) : status.UNAVAILABLE, describe(err)));
    });
    stream.on("close", () => this.settle());
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Cancels the call (RST_STREAM CANCEL); `done` resolves with CANCELLED. */
  cancel(): void {
    this.end(grpcStatusError(status.CANCELLED, "cancelled by flowpol"), constants.NGHTTP2_CANCEL);
  }

  private recordStatus(headers: IncomingHttpHeaders): void {
    if (headers["grpc-status"] === undefined) return;
    this.sawStatus = true;
    this.trailerStatus = statusOfHeaders(headers);
    if (this.trailerStatus?.code === status.OK) this.trailerStatus = undefined;
  }

  /** The stream ended or closed: the status it carried, or why it carries none. */
  private settle(): void {
    if (this.finished) return;
    if (this.deframer.pendingBytes > 0) {
      this.end(
        grpcStatusError(
          status.INTERNAL,
          `the stream ended in the middle of a message (${this.deframer.pendingBytes} bytes)`,
        ),
      );
    } else if (this.sawStatus) this.end(this.trailerStatus);
    else if (this.stream.rstCode !== undefined && this.stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
      this.end(
        grpcStatusError(codeOfResetStream(this.stream.rstCode), `stream reset with code ${this.stream.rstCode}`),
      );
    } else this.end(grpcStatusError(status.INTERNAL, "the stream ended without a grpc-status"));
  }

  private end(outcome: CallOutcome, resetCode?: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    if (resetCode !== undefined && !this.stream.closed) this.stream.close(resetCode);
    this.finish(outcome);
  }
}
