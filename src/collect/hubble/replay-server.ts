import { readFileSync } from "node:fs";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { UsageError } from "../../errors.js";
import type { FlowFilter } from "../../gen/flow/flow_pb.js";
import {
  type GetFlowsRequest,
  GetFlowsRequestSchema,
  GetFlowsResponseSchema,
  GetNodesResponseSchema,
  ServerStatusResponseSchema,
} from "../../gen/observer/observer_pb.js";
import { NodeState } from "../../gen/relay/relay_pb.js";
import { grpcStatusError } from "../grpc/grpc-status.js";
import { type GrpcMethod, type GrpcServerTls, type ResponseStream, serveGrpc } from "../grpc/http2-server.js";
import { compareTime, type NanoTime } from "./grpc-chunk.js";
import { getFlowsMethod, getNodesMethod, serverStatusMethod } from "./observer-service.js";
import { lostEventsAt, type ReplayEvent } from "./replay-events.js";

/**
 * `flowpol replay-server`: a real gRPC server implementing observer.Observer over recorded flows,
 * so flowpol (or the `hubble` CLI) can be tried without a cluster. The events are a ring buffer
 * that never moves: GetFlows honours number/first, since/until, follow and pod-namespace filters.
 * It runs on the lean node:http2 gRPC server (http2-server.ts) so a stream writes its pre-encoded
 * events many at a time.
 */

export interface HubbleReplayServerOptions {
  events: ReplayEvent[];
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  /** Events per second per stream; unlimited when undefined. */
  rate?: number;
  /** Emit a lost_events record (1 event lost) after every N flows. */
  lostEvery?: number;
  unavailableNodes: string[];
  version?: string;
}

export interface RunningHubbleReplayServer {
  port: number;
  close(): Promise<void>;
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(err as Error).message}`, `check the path given to ${flag}`);
  }
}

function serverTls(o: HubbleReplayServerOptions): GrpcServerTls | undefined {
  if (!o.tlsCert && !o.tlsKey && !o.tlsClientCa) return undefined;
  if (!o.tlsCert || !o.tlsKey) {
    throw new UsageError("--tls-cert and --tls-key go together", "give both to serve TLS, or neither for plaintext");
  }
  const tls: GrpcServerTls = { cert: readPem(o.tlsCert, "--tls-cert"), key: readPem(o.tlsKey, "--tls-key") };
  if (o.tlsClientCa) tls.clientCa = readPem(o.tlsClientCa, "--tls-client-ca");
  return tls;
}

/** Whether a pod ("ns/name", or "" for none) matches a Hubble pod filter: `ns/prefix`, `ns/`, `/pod`. */
function podMatches(pod: string, filter: string): boolean {
  if (!pod) return false;
  const slash = filter.indexOf("/");
  if (slash === -1) return pod.startsWith(`default/${filter}`);
  const ns = filter.slice(0, slash);
  const prefix = filter.slice(slash + 1);
  const [podNs, podName] = pod.split("/") as [string, string];
  return (ns === "" || podNs === ns) && podName.startsWith(prefix);
}

const SUPPORTED_FILTER_FIELDS = new Set(["sourcePod", "destinationPod", "$typeName"]);

function unsupportedFilterField(f: FlowFilter): string | undefined {
  for (const [key, value] of Object.entries(f)) {
    if (SUPPORTED_FILTER_FIELDS.has(key)) continue;
    if (Array.isArray(value) && value.length > 0) return key;
  }
  return undefined;
}

function filterMatches(e: ReplayEvent, f: FlowFilter): boolean {
  if (f.sourcePod.length > 0 && !f.sourcePod.some((p) => podMatches(e.sourcePod, p))) return false;
  if (f.destinationPod.length > 0 && !f.destinationPod.some((p) => podMatches(e.destinationPod, p))) return false;
  return true;
}

function toNano(ts: { seconds: bigint; nanos: number } | undefined): NanoTime | undefined {
  return ts ? { seconds: Number(ts.seconds), nanos: ts.nanos } : undefined;
}

/** The history a GetFlows request selects, in time order. */
export function selectEvents(events: ReplayEvent[], request: GetFlowsRequest): ReplayEvent[] {
  const since = toNano(request.since);
  const until = toNano(request.until);
  let selected = events.filter((e) => {
    if (since && compareTime(e.time, since) < 0) return false;
    if (until && compareTime(e.time, until) > 0) return false;
    if (e.kind !== "flow") return true;
    if (request.whitelist.length > 0 && !request.whitelist.some((f) => filterMatches(e, f))) return false;
    if (request.blacklist.some((f) => filterMatches(e, f))) return false;
    return true;
  });
  const number = Number(request.number);
  if (number > 0) selected = request.first ? selected.slice(0, number) : selected.slice(-number);
  return selected;
}

function withLost(events: ReplayEvent[], every: number | undefined): ReplayEvent[] {
  if (!every) return events;
  const out: ReplayEvent[] = [];
  let flows = 0;
  for (const e of events) {
    out.push(e);
    if (e.kind === "flow" && ++flows % every === 0) out.push(lostEventsAt(e.time, e.node, 1));
  }
  return out;
}

export async function startHubbleReplayServer(o: HubbleReplayServerOptions): Promise<RunningHubbleReplayServer> {
  const started = process.hrtime.bigint();
  const events = withLost(o.events, o.lostEvery);
  const flows = events.filter((e) => e.kind === "flow").length;
  const nodes = [...new Set(events.map((e) => e.node).filter((n) => n !== ""))].sort();
  const version = o.version ?? "flowpol-replay";
  const nodeStatusBytes =
    o.unavailableNodes.length > 0
      ? Buffer.from(
          toBinary(
            GetFlowsResponseSchema,
            create(GetFlowsResponseSchema, {
              responseTypes: {
                case: "nodeStatus",
                value: {
                  stateChange: NodeState.NODE_UNAVAILABLE,
                  nodeNames: o.unavailableNodes,
                  message: "node is unreachable (replay-server --unavailable-node)",
                },
              },
            }),
          ),
        )
      : undefined;

  const methods = new Map<string, GrpcMethod>([
    [
      serverStatusMethod.path,
      {
        kind: "unary",
        handle: () =>
          toBinary(
            ServerStatusResponseSchema,
            create(ServerStatusResponseSchema, {
              numFlows: BigInt(flows),
              maxFlows: BigInt(flows),
              seenFlows: BigInt(flows),
              uptimeNs: process.hrtime.bigint() - started,
              numConnectedNodes: nodes.length,
              numUnavailableNodes: o.unavailableNodes.length,
              unavailableNodes: o.unavailableNodes,
              version,
            }),
          ),
      },
    ],
    [
      getNodesMethod.path,
      {
        kind: "unary",
        handle: () =>
          toBinary(
            GetNodesResponseSchema,
            create(GetNodesResponseSchema, {
              nodes: [
                ...nodes.map((name) => ({
                  name,
                  version,
                  state: NodeState.NODE_CONNECTED,
                  numFlows: BigInt(events.filter((e) => e.node === name && e.kind === "flow").length),
                })),
                ...o.unavailableNodes.map((name) => ({ name, version, state: NodeState.NODE_UNAVAILABLE })),
              ],
            }),
          ),
      },
    ],
    [
      getFlowsMethod.path,
      {
        kind: "server-stream",
        handle: (bytes, response) => {
          const request = decodeRequest(bytes);
          if (request.first && request.follow) {
            throw grpcStatusError(status.INVALID_ARGUMENT, "first cannot be combined with follow");
          }
          const unsupported = [...request.whitelist, ...request.blacklist].map(unsupportedFilterField).find(Boolean);
          if (unsupported) {
            throw grpcStatusError(
              status.INVALID_ARGUMENT,
              `the replay server filters by source_pod and destination_pod only, not ${unsupported}`,
            );
          }
          return stream(response, selectEvents(events, request), {
            rate: o.rate,
            follow: request.follow && request.until === undefined,
            nodeStatus: nodeStatusBytes,
          });
        },
      },
    ],
  ]);
  const server = await serveGrpc(o.listen, methods, serverTls(o)).catch((err: Error) => {
    throw new UsageError(`cannot listen on ${o.listen}: ${err.message}`, "choose another address with --listen");
  });
  return server;
}

function decodeRequest(bytes: Buffer): GetFlowsRequest {
  try {
    return fromBinary(GetFlowsRequestSchema, bytes);
  } catch (err) {
    throw grpcStatusError(status.INVALID_ARGUMENT, `cannot decode the GetFlowsRequest: ${(err as Error).message}`);
  }
}

/** Events per HTTP/2 write: enough to make a write cheap per event, few enough to keep latency low. */
const EVENTS_PER_WRITE = 64;

async function stream(
  response: ResponseStream,
  events: ReplayEvent[],
  o: { rate: number | undefined; follow: boolean; nodeStatus: Buffer | undefined },
): Promise<void> {
  if (o.nodeStatus) response.write([o.nodeStatus]);
  // With a rate, write as often as the rate is checked (every 1/100 of a second's events).
  const perWrite =
    o.rate === undefined ? EVENTS_PER_WRITE : Math.max(1, Math.min(EVENTS_PER_WRITE, Math.floor(o.rate / 100)));
  const started = Date.now();
  for (let i = 0; i < events.length; i += perWrite) {
    if (response.cancelled) return;
    const batch = events.slice(i, i + perWrite).map((e) => e.bytes);
    if (!response.write(batch)) await response.drained();
    if (o.rate !== undefined) {
      const due = started + ((i + batch.length) / o.rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  if (response.cancelled) return;
  if (o.follow) {
    await response.closed;
    return;
  }
  response.end();
}
