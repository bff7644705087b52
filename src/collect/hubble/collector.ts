import { availableParallelism } from "node:os";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { SourceError } from "../../errors.js";
import { FlowFilterSchema } from "../../gen/flow/flow_pb.js";
import {
  type GetFlowsRequest,
  GetFlowsRequestSchema,
  ServerStatusRequestSchema,
  type ServerStatusResponse,
  ServerStatusResponseSchema,
} from "../../gen/observer/observer_pb.js";
import type { Batch } from "../../model/batch.js";
import { closeStaleSessions, loadCursor, saveCursor } from "../../store/collect-cursor.js";
import { type Db, openedStore } from "../../store/db.js";
import { finishIngest, type IngestCounts, recordProgress, startIngest } from "../../store/ingest-log.js";
import {
  acquireLeases,
  bindLease,
  CURSOR_LEASE_HINT,
  type Lease,
  renewLease,
  tryReleaseLease,
} from "../../store/lease.js";
import { BatchWriter } from "../../store/write-batch.js";
import { GrpcChannel, type ServerStreamCall } from "../grpc/http2-client.js";
import { isUnexplainedDrop, probeTls } from "../grpc/tls-probe.js";
import { ParsePool } from "../worker-pool.js";
import {
  ChunkWriter,
  compareTime,
  GRPC_FORMAT,
  type NanoTime,
  type Peek,
  parseGrpcChunk,
  peekResponse,
  responseKey,
} from "./grpc-chunk.js";
import { classifyGrpcError } from "./grpc-errors.js";
import { decodeResponse } from "./grpc-flow.js";
import { getFlowsMethod, serverStatusMethod } from "./observer-service.js";
import { fromNanos, REPLAY_WINDOW_NS, RecentKeys, toNanos } from "./recent-keys.js";
import { type ClientTlsOptions, clientChannelOptions, tlsProbeOptions } from "./tls-options.js";

/**
 * `flowpol collect hubble`: streams GetFlows from Hubble Relay (or a Hubble server) into the store
 * through the same batch path as file ingest. Reconnects with exponential backoff and jitter,
 * resumes from the newest event stored and drops the overlap by key (see collect-cursor.ts).
 */

export interface CollectOptions {
  /** The store, or how to open it: opened once the server answered, so a failed connection creates no store. */
  db: Db | (() => Db);
  server: string;
  tls: ClientTlsOptions;
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export async function collectHubble(options: CollectOptions): Promise<HubbleCollectSummary> {
  const now = options.now ?? Date.now;
  const channelOptions = clientChannelOptions(options.tls);
  const channel = new GrpcChannel(options.server, channelOptions);
  const errorContext = {
    server: options.server,
    tls: channelOptions.tls !== undefined,
    clientCert: options.tls.clientCertFile !== undefined,
    requestTimeoutMs: options.requestTimeoutMs,
  };
  const stop = new AbortController();
  let stoppedBy: HubbleCollectSummary["stoppedBy"] = "end";
  const onAbort = () => {
    stoppedBy = "signal";
    stop.abort();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let durationTimer: NodeJS.Timeout | undefined;

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
  let ingestId: number | undefined;
  let lease: Lease | undefined;
  let store: Db | undefined;

  try {
    const status = await serverStatus(channel, options.requestTimeoutMs).catch(async (err) => {
      const probe = isUnexplainedDrop(err) ? await probeTls(options.server, tlsProbeOptions(options.tls)) : undefined;
      throw classifyGrpcError(err, { ...errorContext, ...(probe ? { probe } : {}) }).error;
    });
    options.onStatus?.(status);
    const db = openedStore(options.db);
    const writer = new BatchWriter(db);
    store = db;

    const held = acquireLeases(db, [`cursor:${source}`], `the cursor of ${source}`, now(), CURSOR_LEASE_HINT);
    lease = held;
    const sessionId = db.transaction(() => {
      closeStaleSessions(db, source, now());
      const id = startIngest(
        db,
        { source_system: "hubble", kind: "grpc", path: source, format: GRPC_FORMAT, head_hash: "" },
        now(),
      );
      bindLease(db, held, id, now());
      return id;
    })();
    ingestId = sessionId;
    const pendingGaps: Array<{ node: string; detail: string; time: number | null }> = [];
    for (const node of status.unavailableNodes) {
      pendingGaps.push({ node, detail: "unavailable at start (ServerStatus)", time: now() });
    }

    // The resume state: the newest event time and the keys of the events at exactly that time.
    const stored = loadCursor(db, source);
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
      const gaps = pendingGaps.splice(0);
      db.transaction(() => {
        writer.write(batch, sessionId, "hubble");
        for (const g of gaps) {
          writer.recordGap({
            system: "hubble",
            kind: "node_unavailable",
            node: g.node,
            detail: g.detail,
            count: 1,
            time: g.time,
            ingestId: sessionId,
          });
        }
        const lost = batch.lost.reduce((n, l) => n + l.lost, 0);
        recordProgress(db, sessionId, {
          bytesDone: 0,
          linesDone: item.messages,
          contentHash: "",
          counts: { flows: batch.flows, replies: batch.replies, skipped: batch.skipped, bad: batch.bad, lost },
        });
        if (item.cursor) {
          saveCursor(db, source, { ...item.cursor.time, keys: item.cursor.keys }, sessionId, now());
        }
        renewLease(db, held, now());
      })();
      counts.flows += batch.flows;
      counts.replies += batch.replies;
      counts.skipped += batch.skipped;
      counts.bad += batch.bad;
      counts.lost += batch.lost.reduce((n, l) => n + l.lost, 0);
      options.onProgress?.({ flows: counts.flows, lost: counts.lost, messages: summary.messages });
    };

    let paused: ServerStreamCall | undefined;
    const flush = () => {
      if (chunk.count === 0 && pendingGaps.length === 0) return;
      const first = messageNo;
      messageNo += chunk.count;
      const bytes = chunk.take();
      // The main thread does not parse when there are workers: a chunk parsed here holds up the
      // stream for as long, while the workers run dry; and one more thread would warm up the decoder.
      const batch = pool
        ? pool.parse({ seq: 0, bytes, startLine: first, format: GRPC_FORMAT })
        : Promise.resolve(parseGrpcChunk(bytes, first));
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
        if (c < 0) return false;
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

    let current: ServerStreamCall | undefined;
    const flushTimer = setInterval(() => {
      flush();
      drain(0).catch(() => {}); // the error surfaces at the final drain
    }, options.flushIntervalMs ?? 1000);
    if (options.durationMs !== undefined) {
      durationTimer = setTimeout(() => {
        stoppedBy = "duration";
        stop.abort();
      }, options.durationMs);
    }
    stop.signal.addEventListener("abort", () => current?.cancel(), { once: true });

    try {
      let attempt = 0;
      let lastGood = now();
      let firstRequest = true;
      while (!stop.signal.aborted) {
        const from = resuming === "window" && newest ? fromNanos(toNanos(newest) - REPLAY_WINDOW_NS) : newest;
        const request = buildRequest(options, firstRequest && !stored ? undefined : from);
        firstRequest = false;
        let received = false;
        const call = channel.serverStream(getFlowsMethod.path, toBinary(GetFlowsRequestSchema, request), (buf) => {
          if (!received) {
            received = true;
            attempt = 0;
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
        const delayMs = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt) * (0.5 + Math.random() * 0.5);
        attempt++;
        summary.reconnects++;
        options.onReconnect?.({ attempt, delayMs, reason: classified.error.message });
        await sleep(delayMs, stop.signal);
      }
    } finally {
      clearInterval(flushTimer);
      flush();
      await drain(0);
    }
    finishIngest(db, sessionId, "complete", now());
    summary.unavailableNodes = [...new Set(status.unavailableNodes)];
    return { ...summary, ...counts, stoppedBy };
  } catch (err) {
    if (store && ingestId !== undefined) finishIngest(store, ingestId, "failed", now());
    throw err;
  } finally {
    if (store && lease) tryReleaseLease(store, lease);
    if (durationTimer) clearTimeout(durationTimer);
    options.signal?.removeEventListener("abort", onAbort);
    channel.close();
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

async function serverStatus(channel: GrpcChannel, timeoutMs: number): Promise<ServerStatusResponse> {
  const request = toBinary(ServerStatusRequestSchema, create(ServerStatusRequestSchema));
  return fromBinary(ServerStatusResponseSchema, await channel.unary(serverStatusMethod.path, request, timeoutMs));
}
