import { toBinary } from "@bufbuild/protobuf";
import type { ClientReadableStream } from "@grpc/grpc-js";
import { FlowKeySchema, type FlowResult } from "../../gen/goldmane/goldmane_pb.js";
import { closeStaleSessions, loadCursor, saveCursor } from "../../store/collect-cursor.js";
import type { Db } from "../../store/db.js";
import { finishIngest, recordProgress, startIngest } from "../../store/ingest-log.js";
import { BatchWriter } from "../../store/write-batch.js";
import { BatchBuilder } from "../aggregate.js";
import type { Json } from "../calico/json.js";
import { reportDroppedLabels } from "../parse-chunk.js";
import { GoldmaneClient } from "./client.js";
import { WindowDedup } from "./dedup.js";
import { explainGoldmaneError, isRetryable } from "./errors.js";
import { goldmaneFlowToModel } from "./flow.js";
import { goldmaneCredentials, type TlsFlags } from "./tls.js";

/**
 * `flowpol collect goldmane`: reads flows from Goldmane's `goldmane.Flows` API into the store.
 * Without `follow`, pages through `List` (the history Goldmane holds, about an hour) and stops.
 * With `follow`, reads `Stream` until the duration ends or the signal fires, reconnecting with
 * exponential backoff and jitter when the server goes away, resuming at the latest window seen
 * and dropping flows it already stored. Flows are written in batches, each in one transaction
 * with the collection's progress and its cursor (the latest window stored and its flow keys), so an
 * interrupted collection keeps what it wrote, and the next run starts where this one stopped.
 */

export interface GoldmaneCollectOptions {
  db: Db;
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
  onProgress?: (p: CollectProgress) => void;
  /** Called when an earlier run's cursor makes this one start at that window (Unix seconds). */
  onResume?: (fromSeconds: number) => void;
  /** Write a batch after this many flows or this long, whichever first. */
  batchFlows?: number;
  flushMs?: number;
  backoff?: { initialMs: number; maxMs: number };
}

export interface CollectProgress {
  records: number;
  flows: number;
  duplicates: number;
  reconnects: number;
  bad: number;
}

export interface CollectSummary extends CollectProgress {
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
  readonly progress: CollectProgress = { records: 0, flows: 0, duplicates: 0, reconnects: 0, bad: 0 };
  private readonly dedup: WindowDedup;

  constructor(
    private readonly db: Db,
    private readonly ingestId: number,
    private readonly source: string,
    private readonly batchFlows: number,
    private readonly flushMs: number,
    private readonly now: () => number,
    stored: { start: number; keys: readonly string[] } | undefined,
  ) {
    this.writer = new BatchWriter(db);
    this.dedup = new WindowDedup(stored);
  }

  get resumeFrom(): number | undefined {
    return this.dedup.resumeFrom;
  }

  add(result: FlowResult): void {
    const flow = result.flow;
    if (!flow) return;
    this.progress.records++;
    const start = Number(flow.startTime);
    const key = flow.Key ? Buffer.from(toBinary(FlowKeySchema, flow.Key)).toString("base64") : "";
    if (this.dedup.seen(start, key)) {
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

  flush(): void {
    this.lastFlush = Date.now();
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
      const start = this.dedup.resumeFrom;
      if (start !== undefined) {
        saveCursor(
          this.db,
          this.source,
          { seconds: start, nanos: 0, keys: this.dedup.latestKeys },
          this.ingestId,
          this.now(),
        );
      }
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

export async function collectGoldmane(options: GoldmaneCollectOptions): Promise<CollectSummary> {
  const now = options.now ?? Date.now;
  const { credentials, options: channelOptions } = goldmaneCredentials(options.tls);
  const client = new GoldmaneClient(options.server, credentials, channelOptions);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const db = options.db;
  let ingestId: number | undefined;
  let sink: Sink | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  try {
    // One small List call checks reachability, TLS both ways and that the server is Goldmane.
    await client.list({ page: 0n, pageSize: 1n }, connectTimeoutMs).catch((err) => {
      throw explainGoldmaneError(err, options.server);
    });
    const source = goldmaneSource(options.server);
    const cursor = loadCursor(db, source);
    const stored = cursor ? { start: cursor.seconds, keys: cursor.keys } : undefined;
    if (stored) options.onResume?.(stored.start);
    // A collection killed before it could finish is still `running` in the ingest log.
    closeStaleSessions(db, source, now());
    ingestId = startIngest(
      db,
      {
        source_system: "calico",
        kind: "grpc",
        path: source,
        format: options.follow ? "goldmane-stream" : "goldmane-list",
        head_hash: "",
      },
      now(),
    );
    const activeSink = new Sink(db, ingestId, source, options.batchFlows ?? 5000, options.flushMs ?? 1000, now, stored);
    sink = activeSink;
    flushTimer = setInterval(() => activeSink.flush(), options.flushMs ?? 1000);
    const report = () => options.onProgress?.({ ...activeSink.progress });
    const summary: CollectSummary = options.follow
      ? await streamFlows(client, activeSink, options, report)
      : await listFlows(client, activeSink, options, now, report);
    activeSink.flush();
    finishIngest(db, ingestId, "complete", now());
    return stored ? { ...summary, resumedFrom: stored.start } : summary;
  } catch (err) {
    sink?.flush();
    if (ingestId !== undefined) finishIngest(db, ingestId, "failed", now());
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
  now: () => number,
  report: () => void,
): Promise<CollectSummary> {
  // A fixed upper bound, so pages do not shift while new windows arrive.
  const until = BigInt(Math.floor(now() / 1000));
  const sinceFrom = options.sinceSeconds !== undefined ? until - BigInt(options.sinceSeconds) : 0n;
  // After an earlier run, from the latest window it stored (its flows there are dropped by key).
  const resume = sink.resumeFrom;
  const from = resume !== undefined && BigInt(resume) > sinceFrom ? BigInt(resume) : sinceFrom;
  const pageSize = BigInt(options.pageSize ?? 1000);
  for (let page = 0n; ; page++) {
    if (options.signal?.aborted) return { ...sink.progress, server: options.server, mode: "list", stoppedBy: "signal" };
    const result = await client
      .list({ startTimeGte: from, startTimeLt: until, page, pageSize }, options.connectTimeoutMs ?? 30_000)
      .catch((err) => {
        throw explainGoldmaneError(err, options.server);
      });
    for (const flow of result.flows) sink.add(flow);
    report();
    const totalPages = result.meta?.totalPages ?? 0n;
    if (result.flows.length === 0 || page + 1n >= totalPages) break;
  }
  return { ...sink.progress, server: options.server, mode: "list", stoppedBy: "end" };
}

async function streamFlows(
  client: GoldmaneClient,
  sink: Sink,
  options: GoldmaneCollectOptions,
  report: () => void,
): Promise<CollectSummary> {
  const backoff = options.backoff ?? { initialMs: 250, maxMs: 10_000 };
  const stopAt = options.durationMs !== undefined ? Date.now() + options.durationMs : undefined;
  let stoppedBy: CollectSummary["stoppedBy"] | undefined;
  let failures = 0;
  const stopReason = () => {
    if (options.signal?.aborted) return "signal";
    if (stopAt !== undefined && Date.now() >= stopAt) return "duration";
    return undefined;
  };
  for (;;) {
    stoppedBy = stopReason();
    if (stoppedBy) break;
    // Resume at the latest window stored (this run's or an earlier one's), or later if --since says
    // so; else --since (relative to now, as Goldmane takes it), else from now on.
    const resume = sink.resumeFrom;
    const sinceStart =
      options.sinceSeconds !== undefined ? Math.floor((options.now ?? Date.now)() / 1000) - options.sinceSeconds : 0;
    const startTimeGte =
      resume !== undefined
        ? BigInt(Math.max(resume, sinceStart))
        : options.sinceSeconds
          ? BigInt(-options.sinceSeconds)
          : 0n;
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
