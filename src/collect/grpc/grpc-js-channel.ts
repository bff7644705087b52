import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  type ClientReadableStream,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import type { CallOutcome, GrpcChannel, StreamCall } from "./channel.js";
import { grpcStatusError } from "./grpc-status.js";

/** Messages pass through as bytes: callers encode and decode with protobuf-es. */
const passThrough = (message: Uint8Array): Buffer => Buffer.from(message.buffer, message.byteOffset, message.length);
const asBuffer = (message: Buffer): Buffer => message;

/** The channel on @grpc/grpc-js (see channel.ts). */
export class GrpcJsChannel implements GrpcChannel {
  private readonly client: Client;

  constructor(address: string, creds: ChannelCredentials, options: ChannelOptions) {
    this.client = new Client(address, creds, {
      ...options,
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      "grpc.keepalive_time_ms": 30_000,
    });
  }

  unary(path: string, request: Uint8Array, deadlineMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        path,
        passThrough,
        asBuffer,
        request,
        { deadline: Date.now() + deadlineMs },
        (err: ServiceError | null, value?: Buffer) => {
          if (err) reject(err);
          else if (value) resolve(value);
          else reject(grpcStatusError(status.INTERNAL, "a unary call got no response"));
        },
      );
    });
  }

  serverStream(
    path: string,
    request: Uint8Array,
    onMessage: (message: Buffer) => void,
    deadlineMs?: number,
  ): StreamCall {
    const call = this.client.makeServerStreamRequest(
      path,
      passThrough,
      asBuffer,
      request,
      deadlineMs !== undefined ? { deadline: Date.now() + deadlineMs } : {},
    );
    return new GrpcJsStreamCall(call, onMessage);
  }

  close(): void {
    this.client.close();
  }
}

class GrpcJsStreamCall implements StreamCall {
  readonly done: Promise<CallOutcome>;

  constructor(
    private readonly call: ClientReadableStream<Buffer>,
    onMessage: (message: Buffer) => void,
  ) {
    this.done = new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: CallOutcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      call.on("data", (message: Buffer) => {
        if (!settled) onMessage(message);
      });
      // An error status comes as `error` at once; `end` comes after the last buffered message.
      call.on("error", (err: ServiceError) => settle(err));
      call.on("end", () => settle(undefined));
    });
  }

  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  cancel(): void {
    this.call.cancel();
  }
}
