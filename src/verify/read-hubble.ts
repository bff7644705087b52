import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { classifyGrpcError } from "../collect/grpc/errors.js";
import type { TlsFlags } from "../collect/grpc/tls.js";
import { responseToRecord } from "../collect/hubble/grpc-flow.js";
import { connectObserver } from "../collect/hubble/observer-client.js";
import { getFlowsMethod } from "../collect/hubble/observer-service.js";
import { GetFlowsRequestSchema } from "../gen/observer/observer_pb.js";
import type { Flow } from "../model/flow.js";
import { countFlow, type ReadFlowsResult } from "./read-flows.js";

export interface HubbleSource {
  server: string;
  tls: TlsFlags;
  requestTimeoutMs: number;
}

/**
 * Reads the flows Hubble Relay (or a Hubble server) holds from `sinceMs` on, once (no follow),
 * and passes each to `onFlow`. Also returns the time of the oldest flow the server still had, so
 * the caller can say when its ring buffer no longer reaches back to the wave's start.
 */
export async function readHubbleFlows(
  source: HubbleSource,
  sinceMs: number,
  onFlow: (flow: Flow) => void,
): Promise<ReadFlowsResult & { oldest: number | undefined; evicted: boolean; unavailableNodes: string[] }> {
  const result: ReadFlowsResult & { oldest: number | undefined; evicted: boolean; unavailableNodes: string[] } = {
    evicted: false,
    unavailableNodes: [],
    flows: 0,
    replies: 0,
    lost: 0,
    skipped: 0,
    badLines: [],
    bad: 0,
    oldest: undefined,
  };
  const { channel, status, errors } = await connectObserver(source.server, source.tls, source.requestTimeoutMs);
  try {
    // The ring buffer has dropped flows when it has seen more than it holds.
    result.evicted = status.seenFlows > status.numFlows;
    result.unavailableNodes = [...status.unavailableNodes];
    const request = create(GetFlowsRequestSchema, { follow: false, since: timestampFromMs(sinceMs) });
    let message = 0;
    const call = channel.serverStream(
      getFlowsMethod.path,
      toBinary(GetFlowsRequestSchema, request),
      (buf) => {
        message++;
        const record = responseToRecord(buf);
        if (record.kind === "flow") {
          countFlow(result, record.flow);
          result.oldest = Math.min(result.oldest ?? record.flow.time, record.flow.time);
          onFlow(record.flow);
        } else if (record.kind === "lost") result.lost += record.lost.lost;
        else if (record.kind === "skip") result.skipped++;
        else {
          result.bad++;
          if (result.badLines.length < 5)
            result.badLines.push({ file: source.server, line: message, reason: record.reason });
        }
      },
      source.requestTimeoutMs,
    );
    const failure = await call.done;
    if (failure) throw classifyGrpcError(failure, errors).error;
  } finally {
    channel.close();
  }
  return result;
}
