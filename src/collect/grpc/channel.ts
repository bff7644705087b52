import type { ServiceError } from "@grpc/grpc-js";
import { GrpcJsChannel } from "./grpc-js-channel.js";
import { Http2Channel } from "./http2-channel.js";
import { type ChannelTls, grpcJsCredentials, nodeTlsOptions } from "./tls.js";

/**
 * A connection to one gRPC server, whatever carries it. Every client in flowpol (collect hubble,
 * collect goldmane, verify) talks through this interface, with the TLS of tls.ts and the error
 * explanations of errors.ts; only the transport differs:
 * - "grpc-js": @grpc/grpc-js, the project's gRPC library, for every call by default;
 * - "http2": flowpol's lean node:http2 client (http2-channel.ts), which hands each message over as a
 *   view of the DATA chunk it arrived in. It carries Hubble's GetFlows stream in `collect hubble`,
 *   where `npm run bench` ("hubble gRPC transport") measures that it pays.
 * Messages are raw protobuf bytes: each caller decodes what it needs.
 */
export interface GrpcChannel {
  /** Resolves with the response bytes; rejects with a ServiceError. */
  unary(path: string, request: Uint8Array, deadlineMs: number): Promise<Buffer>;
  /** Starts a server-streaming call; each response message goes to `onMessage`. */
  serverStream(
    path: string,
    request: Uint8Array,
    onMessage: (message: Buffer) => void,
    deadlineMs?: number,
  ): StreamCall;
  /** Ends the connection: calls still open end with an error. */
  close(): void;
}

/** How a call ended: undefined for status OK. */
export type CallOutcome = ServiceError | undefined;

export interface StreamCall {
  /** Resolves once, with how the call ended. */
  readonly done: Promise<CallOutcome>;
  pause(): void;
  resume(): void;
  /** Cancels the call; `done` resolves with CANCELLED. */
  cancel(): void;
}

export type Transport = "grpc-js" | "http2";

/** A channel to `address` (host:port) over `transport`; plaintext when `tls` is undefined. */
export function openChannel(address: string, tls: ChannelTls | undefined, transport: Transport): GrpcChannel {
  if (transport === "http2") return new Http2Channel(address, tls ? nodeTlsOptions(tls) : {});
  const { creds, options } = grpcJsCredentials(tls);
  return new GrpcJsChannel(address, creds, options);
}
