import { availableParallelism } from "node:os";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { GrpcChannel, StreamCall } from "../collect/grpc/channel.js";
import { classifyGrpcError } from "../collect/grpc/errors.js";
import type { TlsFlags } from "../collect/grpc/tls.js";
import {
  ChunkWriter,
  compareTime,
  GRPC_FORMAT,
  type NanoTime,
  type Peek,
  parseGrpcChunk,
  peekResponse,
  responseKey,
} from "../collect/hubble/grpc-chunk.js";
import { decodeResponse } from "../collect/hubble/grpc-flow.js";
import { connectObserver } from "../collect/hubble/observer-client.js";
import { getFlowsMethod } from "../collect/hubble/observer-service.js";
import { fromNanos, REPLAY_WINDOW_NS, RecentKeys, toNanos } from "../collect/hubble/recent-keys.js";
import { ParsePool } from "../collect/worker-pool.js";
import { SourceError } from "../errors.js";
import { FlowFilterSchema } from "../gen/flow/flow_pb.js";
import { type GetFlowsRequest, GetFlowsRequestSchema, type ServerStatusResponse } from "../gen/observer/observer_pb.js";
import type { Batch } from "../model/batch.js";
import type { IngestCounts } from "../store/ingest-log.js";
import type { FlowStore } from "../store/store.js";
import { Backoff, LiveSession, Stop, sleep } from "./live-session.js";

/**
 * `flowpol collect hubble`: streams GetFlows from Hubble Relay (or a Hubble server) into the store
 * through the same batch path as file ingest. Reconnects with exponential backoff and jitter,
 * resumes from the newest event stored and drops the overlap by key (see collect-cursor.ts).
 */

export interface CollectOptions {
  /** The store, or how to open it: opened once the server answered, so a failed connection creates no store. */
  store: FlowStore | (() => Promise<FlowStore>);
  /** `--cluster`: the cluster of every flow (else the cluster each flow names, else "default"). */
  cluster?: string | undefined;
  server: string;
  tls: TlsFlags;
  since?: NanoTime;
  until?: NanoTime;
  last?: number;
  follow: boolean;
  namespaces: string[];
  /** Stop after this long (ms). */
  durationMs?: number;
  requestTimeoutMs: number;
  /** Give up when no connection could be made for this long (ms). */
  reconnectTimeoutMs: number;
  /** Parse workers; 0 decodes on the main thread. */
  workers?: number;
  batchMessages?: number;
  flushIntervalMs?: number;
  signal?: AbortSignal;
  now?: () => number;
  onStatus?: (status: ServerStatusResponse) => void;
  onProgress?: (p: HubbleCollectProgress) => void;
  onReconnect?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  onResume?: (from: NanoTime) => void;
  /** How often the cursor's lease is renewed while nothing is written (default LEASE_RENEW_MS). */
  leaseRenewMs?: number;
}

export interface HubbleCollectProgress {
  flows: number;
  lost: number;
  messages: number;
}

export interface HubbleCollectSummary extends IngestCounts {
  messages: number;
  duplicates: number;
  reconnects: number;
  unavailableNodes: string[];
  stoppedBy: "end" | "signal" | "duration";
  resumedFrom?: NanoTime;
}

const UNAVAILABLE_STATES = new Set(["NODE_UNAVAILABLE", "NODE_GONE", "NODE_ERROR"]);
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5_000;

/** The resume key of a session: the server and the filters that shape what it returns. */
export function cursorSource(server: string, namespaces: string[]): string {
  const ns = [...new Set(namespaces)].sort();
  return `hubble://${server}${ns.length > 0 ? `?namespace=${ns.join(",")}` : ""}`;
}

function namespaceFilters(namespaces: string[]) {
  return namespaces.flatMap((ns) => [
    create(FlowFilterSchema, { sourcePod: [`${ns}/`] }),
    create(FlowFilterSchema, { destinationPod: [`${ns}/`] }),
  ]);
}

function toTimestamp(t: NanoTime) {
  return { ...timestampFromMs(0), seconds: BigInt(t.seconds), nanos: t.nanos };
}

export async function collectHubble(options: CollectOptions): Promise<HubbleCollectSummary> {
  const now = options.now ?? Date.now;
  const stop = new Stop(options.signal);

  const source = cursorSource(options.server, options.namespaces);
  // One worker per core but one, which the main thread keeps for the stream and the store.
  const workers = options.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1));
  const pool = workers > 0 ? new ParsePool(workers) : undefined;
  const counts: IngestCounts = { flows: 0, replies: 0, skipped: 0, bad: 0, lost: 0 };
  const summary: HubbleCollectSummary = {
    ...counts,
    messages: 0,
    duplicates: 0,
    reconnects: 0,
    unavailableNodes: [],
    stoppedBy: "end",
  };
  let session: LiveSession | undefined;
  let connected: GrpcChannel | undefined;

  try {
    const {
      channel,
      status,
      errors: errorContext,
    } = await connectObserver(options.server, options.tls, options.requestTimeoutMs);
    connected = channel;
    options.onStatus?.(status);
    const live = await LiveSession.open({
      store: options.store,
      source,
      system: "hubble",
      format: GRPC_FORMAT,
      ...(options.leaseRenewMs !== undefined && { leaseRenewMs: options.leaseRenewMs }),
    });
    session = live;
    const pendingGaps: Array<{ node: string; detail: string; time: number | null }> = [];
    for (const node of status.unavailableNodes) {
      pendingGaps.push({ node, detail: "unavailable at start (ServerStatus)", time: now() });
    }

    // The resume state: the newest event time and the keys of the events at exactly that time.
    const stored = live.stored;
    let newest: NanoTime | undefined = stored ? { seconds: stored.seconds, nanos: stored.nanos } : undefined;
    let newestBuffers: Buffer[] = [];
    let newestKeys: string[] = stored ? [...stored.keys] : [];
    /** Keys at the resume point still expected once more from the server (a multiset). */
    let overlap = new Map<string, number>();
    /** "cursor": a stored cursor, re-read from its time; "window": a reconnect, re-read from the window before it. */
    let resuming: "cursor" | "window" | undefined;
    let resumedAt = 0n;
    const recent = new RecentKeys();
    const beginResume = () => {
      if (!newest) return;
      overlap = new Map();
      for (const k of keysAtNewest()) overlap.set(k, (overlap.get(k) ?? 0) + 1);
      resuming = "cursor";
    };
    const beginReconnect = () => {
      if (!newest) return;
      overlap = recent.counts();
      resumedAt = toNanos(newest);
      resuming = "window";
    };
    const keysAtNewest = (): string[] => {
      if (newestBuffers.length > 0) {
        newestKeys.push(...newestBuffers.map(responseKey));
        newestBuffers = [];
      }
      return newestKeys;
    };
    // A store written before uuid blocks existed cannot tell the window's flows apart: no re-read.
    const rereadWindow = stored !== undefined && ((await live.newestUuidTime()) ?? -1) >= stored.seconds * 1000;
    if (stored) {
      summary.resumedFrom = { seconds: stored.seconds, nanos: stored.nanos };
      options.onResume?.(summary.resumedFrom);
      beginResume();
    }

    const chunk = new ChunkWriter();
    const batchMessages = options.batchMessages ?? 8192;
    const queue: Array<{ batch: Promise<Batch>; cursor?: { time: NanoTime; keys: string[] }; messages: number }> = [];
    const maxQueue = Math.max(3, workers * 2 + 1);
    let messageNo = 1;

    const commitOne = async () => {
      const item = queue.shift();
      if (!item) return;
      const batch = await item.batch;
      const gaps = pendingGaps.splice(0).map((g) => ({ kind: "node_unavailable", count: 1, ...g }));
      const cursor = item.cursor ? { ...item.cursor.time, keys: item.cursor.keys } : undefined;
      // The store takes out flows whose uuid and time it holds (a reconnect's re-read window, another input).
      const committed = await live.commit(batch, item.messages, cursor, gaps);
      await live.settle();
      summary.duplicates += committed?.duplicates ?? 0;
      counts.flows += committed?.flows ?? 0;
      counts.replies += committed?.replies ?? 0;
      counts.skipped += batch.skipped;
      counts.bad += batch.bad;
      counts.lost += batch.lost.reduce((n, l) => n + l.lost, 0);
      options.onProgress?.({ flows: counts.flows, lost: counts.lost, messages: summary.messages });
    };

    let paused: StreamCall | undefined;
    const flush = () => {
      if (chunk.count === 0 && pendingGaps.length === 0) return;
      const first = messageNo;
      messageNo += chunk.count;
      const bytes = chunk.take();
      // The main thread does not parse when there are workers: a chunk parsed here holds up the
      // stream for as long, while the workers run dry; and one more thread would warm up the decoder.
      const batch = pool
        ? pool.parse({ seq: 0, bytes, startLine: first, format: GRPC_FORMAT, cluster: options.cluster })
        : Promise.resolve(parseGrpcChunk(bytes, first, options.cluster));
      batch.catch(() => {});
      const cursor = newest ? { time: { ...newest }, keys: [...keysAtNewest()] } : undefined;
      queue.push(cursor ? { batch, cursor, messages: summary.messages } : { batch, messages: summary.messages });
    };
    let committing: Promise<void> = Promise.resolve();
    const drain = (max: number) => {
      committing = committing.then(async () => {
        while (queue.length > max) await commitOne();
      });
      return committing;
    };

    const accept = (buf: Buffer, peek: Peek): boolean => {
      const t = peek.time;
      if (!t) return true;
      const ns = toNanos(t);
      if (resuming === "window") {
        if (ns <= resumedAt) {
          const key = responseKey(buf);
          const left = overlap.get(key) ?? 0;
          if (left > 0) {
            overlap.set(key, left - 1);
            return false;
          }
        } else if (ns > resumedAt + REPLAY_WINDOW_NS) resuming = undefined;
      } else if (resuming === "cursor" && newest) {
        const c = compareTime(t, newest);
        // Older than the cursor: re-read from Relay's window. A flow with a uuid is taken when the
        // store's uuid blocks cover the cursor (they drop it if stored); anything else was stored.
        if (c < 0) return rereadWindow && responseKey(buf).startsWith("uuid:");
        if (c === 0) {
          const key = responseKey(buf);
          const left = overlap.get(key) ?? 0;
          if (left > 0) {
            overlap.set(key, left - 1);
            return false;
          }
        } else resuming = undefined;
      }
      if (!newest || compareTime(t, newest) > 0) {
        newest = { seconds: t.seconds, nanos: t.nanos };
        newestBuffers = [buf];
        newestKeys = [];
      } else if (compareTime(t, newest) === 0) newestBuffers.push(buf);
      recent.add(responseKey(buf), ns, toNanos(newest));
      return true;
    };

    const onMessage = (buf: Buffer) => {
      summary.messages++;
      let peek: Peek;
      try {
        peek = peekResponse(buf);
      } catch {
        chunk.add(buf);
        return;
      }
      if (!accept(buf, peek)) {
        summary.duplicates++;
        return;
      }
      if (peek.kind === "node_status") {
        const decoded = decodeResponse(buf);
        if (decoded.kind === "node_status" && UNAVAILABLE_STATES.has(decoded.status.state)) {
          for (const node of decoded.status.nodes) {
            pendingGaps.push({
              node,
              detail: `${decoded.status.state}${decoded.status.message ? `: ${decoded.status.message}` : ""}`,
              time: decoded.time ?? now(),
            });
          }
        }
      }
      chunk.add(buf);
      if (chunk.count >= batchMessages) {
        flush();
        if (queue.length >= maxQueue && !paused && current) {
          paused = current;
          paused.pause();
          drain(maxQueue - 1)
            .catch(() => {}) // the error surfaces at the final drain
            .then(() => {
              paused?.resume();
              paused = undefined;
            });
        }
      }
    };

    let current: StreamCall | undefined;
    const flushTimer = setInterval(() => {
      flush();
      drain(0).catch(() => {}); // the error surfaces at the final drain
    }, options.flushIntervalMs ?? 1000);
    stop.limit(options.durationMs);
    stop.signal.addEventListener("abort", () => current?.cancel(), { once: true });

    try {
      const backoff = new Backoff(BACKOFF_BASE_MS, BACKOFF_MAX_MS);
      let lastGood = now();
      let firstRequest = true;
      while (!stop.signal.aborted) {
        const rewind = resuming === "window" || (resuming === "cursor" && rereadWindow);
        const from = rewind && newest ? fromNanos(toNanos(newest) - REPLAY_WINDOW_NS) : newest;
        const request = buildRequest(options, firstRequest && !stored ? undefined : from);
        firstRequest = false;
        let received = false;
        const call = channel.serverStream(getFlowsMethod.path, toBinary(GetFlowsRequestSchema, request), (buf) => {
          if (!received) {
            received = true;
            backoff.reset();
          }
          lastGood = now();
          onMessage(buf);
        });
        current = call;
        if (stop.signal.aborted) call.cancel();
        const failure = await call.done;
        current = undefined;
        paused = undefined;
        if (stop.signal.aborted) break;
        if (!failure && !options.follow) break;
        const classified = failure
          ? classifyGrpcError(failure, errorContext)
          : { error: new SourceError(`${options.server} ended the stream`), retryable: true };
        if (!classified.retryable) throw classified.error;
        if (now() - lastGood > options.reconnectTimeoutMs) {
          throw new SourceError(
            `gave up reconnecting to ${options.server} after ${Math.round(options.reconnectTimeoutMs / 1000)}s: ${classified.error.message}`,
            classified.error.hint,
            { cause: classified.error },
          );
        }
        // Everything received so far is already in memory: re-read the window before the newest
        // event, where Relay's sort buffer may still hold late events, and drop what was received.
        flush();
        beginReconnect();
        const delayMs = backoff.next();
        summary.reconnects++;
        options.onReconnect?.({ attempt: backoff.attempts, delayMs, reason: classified.error.message });
        await sleep(delayMs, stop.signal);
      }
    } finally {
      clearInterval(flushTimer);
      flush();
      await drain(0);
    }
    const done = live;
    session = undefined;
    await done.finish("complete");
    summary.unavailableNodes = [...new Set(status.unavailableNodes)];
    return { ...summary, ...counts, stoppedBy: stop.stoppedBy };
  } catch (err) {
    await session?.finish("failed").catch(() => {}); // the error that stopped the run is the one reported
    throw err;
  } finally {
    stop.dispose();
    connected?.close();
    await pool?.close();
  }
}

function buildRequest(options: CollectOptions, resumeFrom: NanoTime | undefined): GetFlowsRequest {
  const request = create(GetFlowsRequestSchema, {
    follow: options.follow,
    whitelist: namespaceFilters(options.namespaces),
  });
  if (options.until) request.until = toTimestamp(options.until);
  if (resumeFrom) {
    const since = options.since && compareTime(options.since, resumeFrom) > 0 ? options.since : resumeFrom;
    request.since = toTimestamp(since);
    return request;
  }
  if (options.since) request.since = toTimestamp(options.since);
  if (options.last !== undefined) request.number = BigInt(options.last);
  return request;
}
