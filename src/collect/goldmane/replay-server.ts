import { create, toBinary } from "@bufbuild/protobuf";
import {
  Server,
  type ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import {
  type FilterHintsResult,
  FilterHintsResultSchema,
  type Flow,
  type FlowKey,
  FlowKeySchema,
  type FlowListRequest,
  type FlowListResult,
  FlowListResultSchema,
  type FlowResult,
  FlowResultSchema,
  FlowSchema,
  type FlowStreamRequest,
  Flows,
} from "../../gen/goldmane/goldmane_pb.js";
import { grpcServiceDefinition } from "../grpc/service-definition.js";
import { WINDOW_SECONDS } from "./list-reader.js";

/**
 * A real gRPC server implementing `goldmane.Flows` over recorded flows, for tests and trying
 * flowpol without a cluster. It answers as upstream Goldmane's server does (Calico 3.30/3.31):
 *
 * - Flows live in 15-second windows per flow key; a window is known once Goldmane's clock
 *   (`now`) has reached its start, as a live Goldmane knows nothing of the future.
 * - `List` returns one record per flow key over the range asked: the sums of the key's windows
 *   that lie wholly inside it, with the first window's start and the last window's end (a key
 *   with a window starting in the range but none wholly inside it gets an empty record, as
 *   upstream's does). Newest first by start time; ties come in a new random order on every
 *   call, so page boundaries move. Times: 0 is the oldest window (start) or now (end), negative
 *   is relative to now; start must be before end (else UNKNOWN, upstream's message).
 * - `Stream` sends one record per key and window, each window once it ended two windows ago
 *   (its data is complete), from `start_time_gte` (0: from now; negative: relative), then
 *   holds the stream open and sends windows as they settle.
 *
 * `dropStreamAfter` drops every stream after that many records, to test reconnects.
 */
export interface GoldmaneReplayServerOptions {
  flows: Flow[];
  credentials: ServerCredentials;
  /** host:port; port 0 picks a free port. */
  listen: string;
  dropStreamAfter?: number;
  /** Goldmane's clock (Unix seconds). Default: this machine's. */
  now?: () => number;
}

export interface RunningGoldmaneReplayServer {
  port: number;
  streamsServed: () => number;
  /** Stops at once, breaking open streams (a crash, as the client sees it). */
  kill: () => void;
  close: () => Promise<void>;
}

/** Stream sends a window this long after it ended. */
const STREAM_DELAY_SECONDS = 2 * WINDOW_SECONDS;

interface Window {
  start: number;
  flow: Flow;
}

interface KeyHistory {
  id: bigint;
  key: FlowKey;
  /** By window start, ascending. */
  windows: Window[];
}

function intersect(a: string[], b: string[]): string[] {
  const keep = new Set(b);
  return a.filter((l) => keep.has(l));
}

function addInto(into: Flow, flow: Flow): void {
  into.packetsIn += flow.packetsIn;
  into.packetsOut += flow.packetsOut;
  into.bytesIn += flow.bytesIn;
  into.bytesOut += flow.bytesOut;
  into.numConnectionsStarted += flow.numConnectionsStarted;
  into.numConnectionsCompleted += flow.numConnectionsCompleted;
  into.numConnectionsLive += flow.numConnectionsLive;
  into.sourceLabels = intersect(into.sourceLabels, flow.sourceLabels);
  into.destLabels = intersect(into.destLabels, flow.destLabels);
}

function emptyFlow(key: FlowKey, start: number, end: number, labelsFrom?: Flow): Flow {
  return create(FlowSchema, {
    Key: key,
    startTime: BigInt(start),
    endTime: BigInt(end),
    sourceLabels: labelsFrom ? [...labelsFrom.sourceLabels] : [],
    destLabels: labelsFrom ? [...labelsFrom.destLabels] : [],
  });
}

/** Recorded flows merged per key and window. */
function histories(flows: Flow[]): KeyHistory[] {
  const byKey = new Map<string, KeyHistory>();
  for (const flow of flows) {
    if (!flow.Key) continue;
    const keyId = Buffer.from(toBinary(FlowKeySchema, flow.Key)).toString("base64");
    let history = byKey.get(keyId);
    if (!history) {
      history = { id: BigInt(byKey.size + 1), key: flow.Key, windows: [] };
      byKey.set(keyId, history);
    }
    const start = Math.floor(Number(flow.startTime) / WINDOW_SECONDS) * WINDOW_SECONDS;
    const known = history.windows.find((w) => w.start === start);
    if (known) addInto(known.flow, flow);
    else {
      const merged = emptyFlow(flow.Key, start, start + WINDOW_SECONDS, flow);
      addInto(merged, flow);
      history.windows.push({ start, flow: merged });
    }
  }
  for (const h of byKey.values()) h.windows.sort((a, b) => a.start - b.start);
  return [...byKey.values()];
}

/** Upstream's List record of one key over [gte, lt), or undefined when no window starts in it. */
function listRecord(history: KeyHistory, gte: number, lt: number, known: number): Flow | undefined {
  const visible = history.windows.filter((w) => w.start < known);
  if (!visible.some((w) => w.start >= gte && w.start < lt)) return undefined;
  const inside = visible.filter((w) => w.start >= gte && w.start + WINDOW_SECONDS <= lt);
  const first = inside[0];
  const last = inside.at(-1);
  if (!first || !last) return emptyFlow(history.key, 0, 0);
  const record = emptyFlow(history.key, first.start, last.start + WINDOW_SECONDS, first.flow);
  for (const w of inside) addInto(record, w.flow);
  return record;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export async function startGoldmaneReplayServer(
  options: GoldmaneReplayServerOptions,
): Promise<RunningGoldmaneReplayServer> {
  const keys = histories(options.flows);
  const now = () => Math.floor(options.now ? options.now() : Date.now() / 1000);
  // Upstream holds about an hour, so its oldest window is always in the past.
  const oldest = () => Math.min(...keys.flatMap((h) => h.windows.map((w) => w.start)), now() - 3600);
  const server = new Server();
  const timers = new Set<NodeJS.Timeout>();
  let streams = 0;
  server.addService(grpcServiceDefinition(Flows), {
    list(call: ServerUnaryCall<FlowListRequest, FlowListResult>, callback: sendUnaryData<FlowListResult>) {
      const at = now();
      const gteAsked = Number(call.request.startTimeGte);
      const ltAsked = Number(call.request.startTimeLt);
      const gte = gteAsked < 0 ? at + gteAsked : gteAsked === 0 ? oldest() : gteAsked;
      const lt = ltAsked < 0 ? at + ltAsked : ltAsked === 0 ? at : ltAsked;
      if (gte >= lt) {
        // Upstream returns a plain Go error, which gRPC sends as UNKNOWN.
        callback({
          code: status.UNKNOWN,
          details: `startTimeGt (${gte}) must be less than startTimeLt (${lt})`,
        });
        return;
      }
      const records: FlowResult[] = [];
      for (const history of shuffled(keys)) {
        const flow = listRecord(history, gte, lt, at);
        if (flow) records.push(create(FlowResultSchema, { id: history.id, flow }));
      }
      // Newest first; the shuffle above is the order of ties.
      records.sort((a, b) => Number((b.flow?.startTime ?? 0n) - (a.flow?.startTime ?? 0n)));
      const pageSize = Number(call.request.pageSize);
      const page = Number(call.request.page);
      const from = page * pageSize;
      if (pageSize > 0 && from >= records.length) {
        callback(null, create(FlowListResultSchema, { meta: {}, flows: [] }));
        return;
      }
      callback(
        null,
        create(FlowListResultSchema, {
          meta: {
            totalPages: records.length === 0 ? 0n : pageSize > 0 ? BigInt(Math.ceil(records.length / pageSize)) : 1n,
            totalResults: BigInt(records.length),
          },
          flows: pageSize > 0 ? records.slice(from, from + pageSize) : records,
        }),
      );
    },
    stream(call: ServerWritableStream<FlowStreamRequest, FlowResult>) {
      streams++;
      const asked = Number(call.request.startTimeGte);
      let next = asked < 0 ? now() + asked : asked === 0 ? now() : asked;
      next = Math.floor(next / WINDOW_SECONDS) * WINDOW_SECONDS;
      let sent = 0;
      let timer: NodeJS.Timeout | undefined;
      const stop = () => {
        if (timer) {
          clearInterval(timer);
          timers.delete(timer);
        }
      };
      call.on("cancelled", stop);
      call.on("close", stop);
      const sendSettled = () => {
        const settledBefore = now() - STREAM_DELAY_SECONDS - WINDOW_SECONDS;
        for (; next <= settledBefore; next += WINDOW_SECONDS) {
          const window: FlowResult[] = [];
          for (const h of keys) {
            const w = h.windows.find((x) => x.start === next);
            if (w) window.push(create(FlowResultSchema, { id: h.id, flow: w.flow }));
          }
          for (const result of shuffled(window)) {
            if (options.dropStreamAfter !== undefined && sent >= options.dropStreamAfter) {
              stop();
              call.destroy(new Error("replay server dropped the stream"));
              return;
            }
            call.write(result);
            sent++;
          }
          // Recorded history can have long quiet stretches: skip to the next window with data.
          const later = keys.flatMap((h) => h.windows.filter((x) => x.start > next).map((x) => x.start));
          if (later.length > 0) next = Math.min(...later) - WINDOW_SECONDS;
          else next = Math.max(next, settledBefore);
        }
      };
      sendSettled();
      if (call.destroyed) return;
      timer = setInterval(sendSettled, 200);
      timers.add(timer);
    },
    filterHints(_call: ServerUnaryCall<unknown, FilterHintsResult>, callback: sendUnaryData<FilterHintsResult>) {
      callback(null, create(FilterHintsResultSchema, {}));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, options.credentials, (err, boundPort) => (err ? reject(err) : resolve(boundPort))),
  );
  const stopTimers = () => {
    for (const t of timers) clearInterval(t);
    timers.clear();
  };
  return {
    port,
    streamsServed: () => streams,
    kill: () => {
      stopTimers();
      server.forceShutdown();
    },
    close: () =>
      new Promise<void>((resolve) => {
        stopTimers();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500).unref();
      }),
  };
}
