import type { ClientReadableStream } from "@grpc/grpc-js";
import type { Flow, FlowResult } from "../../gen/goldmane/goldmane_pb.js";
import { closeStaleSessions, loadCursor, saveCursor } from "../../store/collect-cursor.js";
import { type Db, openedStore } from "../../store/db.js";
import { finishIngest, recordProgress, startIngest } from "../../store/ingest-log.js";
import {
  acquireLeases,
  bindLease,
  CURSOR_LEASE_HINT,
  type Lease,
  renewLease,
  tryReleaseLease,
} from "../../store/lease.js";
import { BatchWriter } from "../../store/write-batch.js";
import { BatchBuilder } from "../batch-builder.js";
import type { Json } from "../calico/json.js";
import { isUnexplainedDrop, probeTls } from "../grpc/tls-probe.js";
import { reportDroppedLabels } from "../parse-chunk.js";
import { GoldmaneClient } from "./client.js";
import { WindowDedup } from "./dedup.js";
import { explainGoldmaneError, isRetryable } from "./errors.js";
import { goldmaneFlowToModel } from "./flow.js";
import { flowKeyId, type ListRead } from "./list-pages.js";
import { Aborted, type ListRange, listRanges, readRange, type StoredCursor, WINDOW_SECONDS } from "./list-reader.js";
import { goldmaneCredentials, type TlsFlags } from "./tls.js";

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
  db: Db | (() => Db);
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
  stoppedBy: "end" | "duration" | "signal";
  /** The window (Unix seconds) an earlier run's cursor resumed this one from. */
  resumedFrom?: number;
}

/** The store's cursor source for a Goldmane server (also the collection's path in the ingest log). */
function goldmaneSource(server: string): string {
  return `goldmane://${server}`;
}

class Sink {
  private builder = new BatchBuilder();
  private readonly writer: BatchWriter;
  private lastFlush = Date.now();
  readonly progress: GoldmaneCollectProgress = { records: 0, flows: 0, duplicates: 0, reconnects: 0, bad: 0 };
  private readonly dedup: WindowDedup;

  constructor(
    private readonly db: Db,
    private readonly ingestId: number,
    private readonly source: string,
    private readonly batchFlows: number,
    private readonly flushMs: number,
    private readonly now: () => number,
    readonly stored: StoredCursor | undefined,
  ) {
    this.writer = new BatchWriter(db);
    this.dedup = new WindowDedup(stored);
  }

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
    const model = goldmaneFlowToModel(flow as unknown as Json);
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
    const model = goldmaneFlowToModel(flow as unknown as Json);
    if (typeof model === "string") {
      this.builder.addBad(this.progress.records, model);
      this.progress.bad++;
      return;
    }
    this.builder.addFlow(model);
    this.progress.flows += model.count;
    const lastWindow = (Number(flow.endTime) - WINDOW_SECONDS) * 1000;
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

  private write(cursor: { seconds: number; keys: string[] } | undefined): void {
    if (this.builder.isEmpty) return;
    const batch = this.builder.build();
    this.builder = new BatchBuilder();
    this.db.transaction(() => {
      this.writer.write(batch, this.ingestId, "calico");
      recordProgress(this.db, this.ingestId, {
        bytesDone: 0,
        linesDone: this.progress.records,
        contentHash: "",
        counts: { flows: batch.flows, replies: batch.replies, skipped: 0, bad: batch.bad, lost: 0 },
      });
      if (cursor) saveCursor(this.db, this.source, { ...cursor, nanos: 0 }, this.ingestId, this.now());
    })();
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export async function collectGoldmane(options: GoldmaneCollectOptions): Promise<GoldmaneCollectSummary> {
  const now = options.now ?? Date.now;
  const { credentials, options: channelOptions, probe } = goldmaneCredentials(options.tls);
  const client = new GoldmaneClient(options.server, credentials, channelOptions);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  let db: Db | undefined;
  let ingestId: number | undefined;
  let sink: Sink | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let lease: Lease | undefined;
  try {
    // One small List call checks reachability, TLS both ways and that the server is Goldmane.
    await client.list({ page: 0n, pageSize: 1n }, connectTimeoutMs).catch(async (err) => {
      const found = isUnexplainedDrop(err) ? await probeTls(options.server, probe) : undefined;
      throw explainGoldmaneError(err, options.server, found);
    });
    const source = goldmaneSource(options.server);
    const opened = openedStore(options.db);
    db = opened;
    const held = acquireLeases(opened, [`cursor:${source}`], `the cursor of ${source}`, now(), CURSOR_LEASE_HINT);
    lease = held;
    const cursor = loadCursor(opened, source);
    const stored = cursor ? { start: cursor.seconds, keys: cursor.keys } : undefined;
    if (stored) options.onResume?.(stored.start);
    // A collection killed before it could finish is still `running` in the ingest log.
    ingestId = opened.transaction(() => {
      closeStaleSessions(opened, source, now());
      const id = startIngest(
        opened,
        {
          source_system: "calico",
          kind: "grpc",
          path: source,
          format: options.follow ? "goldmane-stream" : "goldmane-list",
          head_hash: "",
        },
        now(),
      );
      bindLease(opened, held, id, now());
      return id;
    })();
    const activeSink = new Sink(
      opened,
      ingestId,
      source,
      options.batchFlows ?? 5000,
      options.flushMs ?? 1000,
      now,
      stored,
    );
    sink = activeSink;
    if (options.follow) flushTimer = setInterval(() => activeSink.flush(), options.flushMs ?? 1000);
    const report = () => options.onProgress?.({ ...activeSink.progress });
    const summary: GoldmaneCollectSummary = options.follow
      ? await streamFlows(client, activeSink, options, report)
      : await listFlows(client, activeSink, options, report);
    activeSink.flush();
    finishIngest(opened, ingestId, "complete", now());
    return stored ? { ...summary, resumedFrom: stored.start } : summary;
  } catch (err) {
    if (options.follow) sink?.flush();
    if (db && ingestId !== undefined) finishIngest(db, ingestId, "failed", now());
    throw err;
  } finally {
    if (flushTimer) clearInterval(flushTimer);
    if (db && lease) tryReleaseLease(db, lease);
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
  const backoff = options.backoff ?? { initialMs: 250, maxMs: 10_000 };
  const stopAt = options.durationMs !== undefined ? Date.now() + options.durationMs : undefined;
  let stoppedBy: GoldmaneCollectSummary["stoppedBy"] | undefined;
  let failures = 0;
  const stopReason = () => {
    if (options.signal?.aborted) return "signal";
    if (stopAt !== undefined && Date.now() >= stopAt) return "duration";
    return undefined;
  };
  for (;;) {
    stoppedBy = stopReason();
    if (stoppedBy) break;
    // Resume at the latest window stored (this run's or an earlier one's: Goldmane's own time);
    // else --since (relative to Goldmane's now), else from now on.
    const resume = sink.resumeFrom;
    const startTimeGte =
      resume !== undefined ? BigInt(resume) : options.sinceSeconds ? BigInt(-options.sinceSeconds) : 0n;
    const call: ClientReadableStream<FlowResult> = client.stream({ startTimeGte });
    const cancel = () => call.cancel();
    options.signal?.addEventListener("abort", cancel, { once: true });
    const durationTimer = stopAt !== undefined ? setTimeout(cancel, Math.max(0, stopAt - Date.now())) : undefined;
    try {
      for await (const result of call as AsyncIterable<FlowResult>) {
        failures = 0;
        sink.add(result);
        report();
      }
    } catch (err) {
      if (stopReason()) continue;
      if (!isRetryable(err)) throw explainGoldmaneError(err, options.server);
    } finally {
      options.signal?.removeEventListener("abort", cancel);
      if (durationTimer) clearTimeout(durationTimer);
    }
    if (stopReason()) continue;
    sink.flush();
    sink.progress.reconnects++;
    report();
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures);
    failures++;
    await sleep(delay / 2 + Math.random() * (delay / 2), options.signal);
  }
  return { ...sink.progress, server: options.server, mode: "stream", stoppedBy: stoppedBy ?? "end" };
}
