import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  type FlowListRequestSchema,
  type FlowListResult,
  type FlowResult,
  FlowResultSchema,
  type FlowStreamRequestSchema,
  Flows,
} from "../../gen/goldmane/goldmane_pb.js";
import { type GrpcChannel, openChannel } from "../grpc/channel.js";
import { MessageQueue } from "../grpc/message-queue.js";
import type { ChannelTls } from "../grpc/tls.js";

const LIST_PATH = `/${Flows.typeName}/${Flows.method.list.name}`;
const STREAM_PATH = `/${Flows.typeName}/${Flows.method.stream.name}`;

/** A client of Goldmane's `goldmane.Flows` service, on grpc-js (see grpc/channel.ts). */
export class GoldmaneClient {
  private readonly channel: GrpcChannel;

  constructor(address: string, tls: ChannelTls) {
    this.channel = openChannel(address, tls, "grpc-js");
  }

  async list(request: MessageInitShape<typeof FlowListRequestSchema>, timeoutMs: number): Promise<FlowListResult> {
    const { input, output } = Flows.method.list;
    const response = await this.channel.unary(LIST_PATH, toBinary(input, create(input, request)), timeoutMs);
    return fromBinary(output, response);
  }

  /** The Stream call's results, in order; `cancel()` ends the iteration with CANCELLED. */
  stream(request: MessageInitShape<typeof FlowStreamRequestSchema>): MessageQueue<FlowResult> {
    const { input } = Flows.method.stream;
    const queue = new MessageQueue<FlowResult>();
    queue.attach(
      this.channel.serverStream(STREAM_PATH, toBinary(input, create(input, request)), (message) =>
        queue.push(fromBinary(FlowResultSchema, message)),
      ),
    );
    return queue;
  }

  close(): void {
    this.channel.close();
  }
}
