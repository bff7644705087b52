import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  type FlowListRequest,
  FlowListRequestSchema,
  type FlowListResult,
  type FlowResult,
  type FlowStreamRequest,
  FlowStreamRequestSchema,
  Flows,
} from "../../gen/goldmane/goldmane_pb.js";
import { grpcServiceDefinition } from "../grpc/service-definition.js";

/** A client of Goldmane's `goldmane.Flows` service. */
export const FlowsDefinition = grpcServiceDefinition(Flows);
const FlowsClient = makeGenericClientConstructor(FlowsDefinition, "Flows");

type Unary<Req, Res> = (
  req: Req,
  options: { deadline: number },
  cb: (err: ServiceError | null, res: Res) => void,
) => void;

export class GoldmaneClient {
  private readonly client: Client & Record<string, unknown>;

  constructor(address: string, creds: ChannelCredentials, options: ChannelOptions) {
    this.client = new FlowsClient(address, creds, {
      ...options,
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      "grpc.keepalive_time_ms": 30_000,
    }) as Client & Record<string, unknown>;
  }

  /** Resolves once connected (TLS handshake included); rejects with the reason at the deadline. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  list(request: MessageInitShape<typeof FlowListRequestSchema>, timeoutMs: number): Promise<FlowListResult> {
    const call = this.client.list as Unary<FlowListRequest, FlowListResult>;
    return new Promise((resolve, reject) => {
      call.call(
        this.client,
        create(FlowListRequestSchema, request),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  stream(request: MessageInitShape<typeof FlowStreamRequestSchema>): ClientReadableStream<FlowResult> {
    const call = this.client.stream as (req: FlowStreamRequest) => ClientReadableStream<FlowResult>;
    return call.call(this.client, create(FlowStreamRequestSchema, request));
  }

  close(): void {
    this.client.close();
  }
}
