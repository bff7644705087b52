import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Client, type ServiceError } from "@grpc/grpc-js";
import { isUnexplainedDrop, probeTls } from "../collect/grpc/tls-probe.js";
import { classifyGrpcError } from "../collect/hubble/grpc-errors.js";
import { responseToRecord } from "../collect/hubble/grpc-flow.js";
import { getFlowsMethod, serverStatusMethod } from "../collect/hubble/observer-service.js";
import { type ClientTlsOptions, clientCredentials, tlsProbeOptions } from "../collect/hubble/tls-options.js";
import {
  GetFlowsRequestSchema,
  ServerStatusRequestSchema,
  type ServerStatusResponse,
} from "../gen/observer/observer_pb.js";
import type { Flow } from "../model/flow.js";
import { countFlow, type ReadFlowsResult } from "./read-flows.js";

export interface HubbleSource {
  server: string;
  tls: ClientTlsOptions;
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
  const { creds, options } = clientCredentials(source.tls);
  const client = new Client(source.server, creds, { ...options, "grpc.max_receive_message_length": 64 * 1024 * 1024 });
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
  const context = {
    server: source.server,
    tls: creds._isSecure(),
    clientCert: source.tls.clientCertFile !== undefined,
    requestTimeoutMs: source.requestTimeoutMs,
  };
  try {
    const status = await new Promise<ServerStatusResponse>((resolve, reject) => {
      client.makeUnaryRequest(
        serverStatusMethod.path,
        serverStatusMethod.requestSerialize,
        serverStatusMethod.responseDeserialize,
        create(ServerStatusRequestSchema),
        { deadline: Date.now() + source.requestTimeoutMs },
        (err, value) => (err || !value ? reject(err) : resolve(value)),
      );
    }).catch(async (err) => {
      const probe = isUnexplainedDrop(err) ? await probeTls(source.server, tlsProbeOptions(source.tls)) : undefined;
      throw classifyGrpcError(err, { ...context, ...(probe ? { probe } : {}) }).error;
    });
    // The ring buffer has dropped flows when it has seen more than it holds.
    result.evicted = status.seenFlows > status.numFlows;
    result.unavailableNodes = [...status.unavailableNodes];
    await new Promise<void>((resolve, reject) => {
      const request = create(GetFlowsRequestSchema, { follow: false, since: timestampFromMs(sinceMs) });
      const call = client.makeServerStreamRequest(
        getFlowsMethod.path,
        getFlowsMethod.requestSerialize,
        getFlowsMethod.responseDeserialize,
        request,
        { deadline: Date.now() + source.requestTimeoutMs },
      );
      let message = 0;
      call.on("data", (buf: Buffer) => {
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
      });
      call.on("error", (err: ServiceError) => reject(classifyGrpcError(err, context).error));
      call.on("end", () => resolve());
    });
  } finally {
    client.close();
  }
  return result;
}
