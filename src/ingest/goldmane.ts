import { BatchBuilder } from "../collect/batch-builder.js";
import type { Json } from "../collect/calico/json.js";
import { GoldmaneClient } from "../collect/goldmane/client.js";
import { WindowDedup } from "../collect/goldmane/dedup.js";
import { GoldmaneEndpoints, goldmaneFlowToModel } from "../collect/goldmane/flow.js";
import { flowKeyId, type ListRead } from "../collect/goldmane/list-pages.js";
import {
  Aborted,
  type ListRange,
  listRanges,
  readRange,
  type StoredCursor,
  WINDOW_SECONDS,
} from "../collect/goldmane/list-reader.js";
import { goldmaneErrors } from "../collect/goldmane/service.js";
import { goldmaneTls } from "../collect/goldmane/tls.js";
import { classifyGrpcError, explainConnectFailure } from "../collect/grpc/errors.js";
import type { TlsFlags } from "../collect/grpc/tls.js";
import { reportDroppedLabels } from "../collect/parse-chunk.js";
import type { Flow, FlowResult } from "../gen/goldmane/goldmane_pb.js";
import type { FlowStore } from "../store/store.js";
import { Backoff, LiveSession, Stop, type StoppedBy, sleep } from "./live-session.js";

/**
 * `flowpol collect goldmane`: reads flows from Goldmane's `goldmane.Flows` API into the store.
 *
 * Without `follow`, reads `List`: one record per flow key summed over the range asked (the history
 * Goldmane holds, about an hour, up to windows that ended SETTLE_SECONDS ago), read whole (see
 * ListRead) and stored in one transaction with the cursor: every window before the latest end read.
 * With `follow`, reads `Stream` (one record per key and window) until the duration ends or the
 * signal fires, reconnecting with exponential backoff and jitter when the server goes away,
 * resuming at the latest window seen and dropping flows it already stored; written in batches,
 * each in one transaction with the cursor (the latest window stored and its flow keys).
 *
 * Both start at the stored cursor, so List, List again, List then Stream, or Stream then List
 * count each window of each key once. All times sent are Goldmane's: relative, or read from its
 * records; this machine's clock is not used.
 */

export interface GoldmaneCollectOptions {
  /** The store, or how to open it: opened once the server answered, so a failed connection creates no store. */
  store: FlowStore | (() => Promise<FlowStore>);
  /** `--cluster`: the cluster of every flow (Goldmane's records name none; default "default"). */
  cluster?: string | undefined;
  server: string;
  tls: TlsFlags;
  follow: boolean;
  /** Read this many seconds of history first. Default: all Goldmane holds (List), none (Stream). */
  sinceSeconds?: number;
  /** Stop streaming after this long. */
  durationMs?: number;
  pageSize?: number;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  now?: () => number;
  onProgress?: (p: GoldmaneCollectProgress) => void;
  /** Called when an earlier run's cursor makes this one start at that window (Unix seconds). */
  onResume?: (fromSeconds: number) => void;
  /** Write a batch after this many flows or this long, whichever first. */
  batchFlows?: number;
  flushMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** How often the cursor's lease is renewed while nothing is written (default LEASE_RENEW_MS). */
  leaseRenewMs?: number;
}

export interface GoldmaneCollectProgress {
  records: number;
  flows: number;
  duplicates: number;
  reconnects: number;
  bad: number;
}

export interface GoldmaneCollectSummary extends GoldmaneCollectProgress {
  server: string;
  mode: "list" | "stream";
  stoppedBy: StoppedBy;
  /** The window (Unix seconds) an earlier run's cursor resumed this one from. */
  resumedFrom?: number;
}

/** The store's cursor source for a Goldmane server (also the collection's path in the ingest log). */
function goldmaneSource(server: string): string {
  return `goldmane://${server}`;
}

class Sink {
  private builder: BatchBuilder;
  private lastFlush = Date.now();
  readonly progress: GoldmaneCollectProgress = { records: 0, flows: 0, duplicates: 0, reconnects: 0, bad: 0 };
  private readonly dedup: WindowDedup;

  constructor(
    private readonly session: LiveSession,
    private readonly batchFlows: number,
    private readonly flushMs: number,
    readonly stored: StoredCursor | undefined,
    private readonly cluster: string | undefined,
  ) {
    this.builder = new BatchBuilder(cluster);
    this.dedup = new WindowDedup(stored);
  }

  private readonly endpoints = new GoldmaneEndpoints();

  get resumeFrom(): number | undefined {
    return this.dedup.resumeFrom;
  }

  /** A Stream record: one key in one window. */
  add(result: FlowResult): void {
    const flow = result.flow;
    if (!flow) return;
    this.progress.records++;
    if (this.dedup.seen(Number(flow.startTime), flowKeyId(flow))) {
      this.progress.duplicates++;
      return;
    }
    const model = goldmaneFlowToModel(flow as unknown as Json, undefined, this.endpoints);
    if (typeof model === "string") {
      this.builder.addBad(this.progress.records, model);
      this.progress.bad++;
    } else {
      this.builder.addFlow(model);
      reportDroppedLabels(model, this.progress.records, this.builder);
      this.progress.flows += model.count;
    }
    if (this.builder.flows >= this.batchFlows || Date.now() - this.lastFlush >= this.flushMs) this.flush();
  }

  /**
   * A List record: one key over a range of windows, its counts the range's sums. Seen from the start
   * of its first window to the start of its last (as the same flows read window by window are), so
   * a time window over the store keeps it when the range overlaps; it is stored by `commit`.
   */
  addListed(flow: Flow): void {
    this.progress.records++;
    const model = goldmaneFlowToModel(flow as unknown as Json, undefined, this.endpoints);
    if (typeof model === "string") {
      this.builder.addBad(this.progress.records, model);
      this.progress.bad++;
      return;
    }
    const lastWindow = (Number(flow.endTime) - WINDOW_SECONDS) * 1000;
    this.builder.addFlow(model, Math.max(lastWindow, model.time));
    this.progress.flows += model.count;
    if (lastWindow > model.time) this.builder.addFlow({ ...model, time: lastWindow, count: 0 });
  }

  /** Stores what `addListed` gathered and, when anything was, the List's cursor: all before `watermark`. */
  commit(watermark: number | undefined): void {
    this.write(watermark !== undefined ? { seconds: watermark, keys: [] } : undefined);
  }

  flush(): void {
    this.lastFlush = Date.now();
    const start = this.dedup.resumeFrom;
    this.write(start !== undefined ? { seconds: start, keys: this.dedup.latestKeys } : undefined);
  }

  /** Queues the batch gathered so far for the store (after the ones queued before). */
  private write(cursor: { seconds: number; keys: string[] } | undefined): void {
    if (this.builder.isEmpty) return;
    const batch = this.builder.build();
    this.builder = new BatchBuilder(this.cluster);
    void this.session.commit(batch, this.progress.records, cursor ? { ...cursor, nanos: 0 } : undefined);
  }
}

export async function collectGoldmane(options: GoldmaneCollectOptions): Promise<GoldmaneCollectSummary> {
  const tls = goldmaneTls(options.tls);
  const client = new GoldmaneClient(options.server, tls);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const errors = goldmaneErrors(options.server, connectTimeoutMs);
  let session: LiveSession | undefined;
  let sink: Sink | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  try {
    // One small List call checks reachability, TLS both ways and that the server is Goldmane.
    await client.list({ page: 0n, pageSize: 1n }, connectTimeoutMs).catch(async (err) => {
      throw await explainConnectFailure(err, errors, tls);
    });
    const live = await LiveSession.open({
      store: options.store,
      source: goldmaneSource(options.server),
      system: "calico",
      format: options.follow ? "goldmane-stream" : "goldmane-list",
      ...(options.leaseRenewMs !== undefined && { leaseRenewMs: options.leaseRenewMs }),
    });
    session = live;
    const stored = live.stored ? { start: live.stored.seconds, keys: live.stored.keys } : undefined;
    if (stored) options.onResume?.(stored.start);
    const activeSink = new Sink(live, options.batchFlows ?? 5000, options.flushMs ?? 1000, stored, options.cluster);
    sink = activeSink;
    if (options.follow) flushTimer = setInterval(() => activeSink.flush(), options.flushMs ?? 1000);
    const report = () => options.onProgress?.({ ...activeSink.progress });
    const summary: GoldmaneCollectSummary = options.follow
      ? await streamFlows(client, activeSink, options, report)
      : await listFlows(client, activeSink, options, report);
    activeSink.flush();
    session = undefined;
    await live.finish("complete");
    return stored ? { ...summary, resumedFrom: stored.start } : summary;
  } catch (err) {
    if (options.follow) sink?.flush();
    await session?.finish("failed").catch(() => {}); // the error that stopped the run is the one reported
    throw err;
  } finally {
    if (flushTimer) clearInterval(flushTimer);
    client.close();
  }
}

async function listFlows(
  client: GoldmaneClient,
  sink: Sink,
  options: GoldmaneCollectOptions,
  report: () => void,
): Promise<GoldmaneCollectSummary> {
  const reads: Array<{ range: ListRange; read: ListRead }> = [];
  try {
    for (const range of listRanges(sink.stored, options.sinceSeconds)) {
      if (range.gte > 0 && range.lt > 0 && range.gte >= range.lt) continue;
      const read = await readRange(client, range, options, (n) => {
        sink.progress.records += n;
        report();
      });
      if (read) reads.push({ range, read });
    }
  } catch (err) {
    if (err instanceof Aborted) {
      return { ...sink.progress, records: 0, server: options.server, mode: "list", stoppedBy: "signal" };
    }
    throw err;
  }
  // Everything read is stored in one transaction with the new cursor: a List record sums a
  // range, so storing part of a read and reading the range again would count it twice.
  sink.progress.records = 0;
  let watermark: number | undefined;
  for (const { range, read } of reads) {
    sink.progress.duplicates += read.repeats;
    for (const flow of read.records) {
      if (range.skip?.has(flowKeyId(flow))) {
        sink.progress.duplicates++;
        continue;
      }
      const end = Number(flow.endTime);
      if (flow.startTime === 0n || end === 0) continue;
      sink.addListed(flow);
      if (watermark === undefined || end > watermark) watermark = end;
    }
  }
  sink.commit(watermark);
  report();
  return { ...sink.progress, server: options.server, mode: "list", stoppedBy: "end" };
}

async function streamFlows(
  client: GoldmaneClient,
  sink: Sink,
  options: GoldmaneCollectOptions,
  report: () => void,
): Promise<GoldmaneCollectSummary> {
  const delays = options.backoff ?? { initialMs: 250, maxMs: 10_000 };
  const backoff = new Backoff(delays.initialMs, delays.maxMs);
  const stop = new Stop(options.signal);
  stop.limit(options.durationMs);
  try {
    while (!stop.signal.aborted) {
      // Resume at the latest window stored (this run's or an earlier one's: Goldmane's own time);
      // else --since (relative to Goldmane's now), else from now on.
      const resume = sink.resumeFrom;
      const startTimeGte =
        resume !== undefined ? BigInt(resume) : options.sinceSeconds ? BigInt(-options.sinceSeconds) : 0n;
      const call = client.stream({ startTimeGte });
      const cancel = () => call.cancel();
      stop.signal.addEventListener("abort", cancel, { once: true });
      try {
        for await (const result of call) {
          backoff.reset();
          sink.add(result);
          report();
        }
      } catch (err) {
        if (stop.signal.aborted) continue;
        const classified = classifyGrpcError(err, goldmaneErrors(options.server, options.connectTimeoutMs ?? 10_000));
        if (!classified.retryable) throw classified.error;
      } finally {
        stop.signal.removeEventListener("abort", cancel);
      }
      if (stop.signal.aborted) continue;
      sink.flush();
      sink.progress.reconnects++;
      report();
      await sleep(backoff.next(), stop.signal);
    }
  } finally {
    stop.dispose();
  }
  return { ...sink.progress, server: options.server, mode: "stream", stoppedBy: stop.stoppedBy };
}
