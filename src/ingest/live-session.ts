import { type Batch, batchCounts } from "../model/batch.js";
import type { CollectCursor } from "../store/collect-cursor.js";
import type { IngestCounts } from "../store/ingest-log.js";
import { CURSOR_LEASE_HINT, LEASE_RENEW_MS, type Lease } from "../store/lease.js";
import type { Committed, FlowStore, StoreGapRecord } from "../store/store.js";

/**
 * A live collection's side of the store, the same for every streaming source (Hubble Relay,
 * Goldmane): the lease on the source's cursor, one ingest-log row per session, batches committed
 * in order, each with its progress and resume cursor, and the row closed `complete` or `failed`.
 * Around it, what every live source needs: a stop (signal or duration), a reconnect backoff with
 * jitter, a flush timer.
 */
export interface LiveSessionOptions {
  /** The store, or how to open it: opened once the server answered, so a failed connection creates no store. */
  store: FlowStore | (() => Promise<FlowStore>);
  /** The cursor's key and the session's path in the ingest log (`hubble://server?...`, `goldmane://server`). */
  source: string;
  system: string;
  format: string;
  /** How often the cursor's lease is renewed while nothing is stored (a quiet `--follow` run). */
  leaseRenewMs?: number;
}

export class LiveSession {
  /** What this session stored, summed over its commits. */
  readonly counts: IngestCounts = { flows: 0, replies: 0, skipped: 0, bad: 0, lost: 0 };
  /** Flows the store held already (same uuid and time), not counted again. */
  duplicates = 0;
  private committing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private renewal: NodeJS.Timeout | undefined;

  private constructor(
    private readonly store: FlowStore,
    private readonly lease: Lease,
    readonly ingestId: number,
    readonly source: string,
    private readonly system: string,
    /** Where an earlier session of this source left off. */
    readonly stored: CollectCursor | undefined,
  ) {}

  /** Takes the source's cursor lease (refused while another run holds it) and starts the session's row. */
  static async open(options: LiveSessionOptions): Promise<LiveSession> {
    const store = typeof options.store === "function" ? await options.store() : options.store;
    const lease = await store.acquireLeases(
      [`cursor:${options.source}`],
      `the cursor of ${options.source}`,
      CURSOR_LEASE_HINT,
    );
    try {
      const stored = await store.loadCursor(options.source);
      // A collection killed before it could finish is still `running` in the ingest log.
      const ingestId = await store.beginIngest(
        {
          row: {
            source_system: options.system,
            kind: "grpc",
            path: options.source,
            format: options.format,
            head_hash: "",
          },
          closeStaleSessions: true,
        },
        lease,
      );
      const session = new LiveSession(store, lease, ingestId, options.source, options.system, stored);
      session.renewal = setInterval(() => {
        // A renewal that fails (store busy, disk full) is left to the next one or the next commit.
        store.renewLease(lease).catch(() => {});
      }, options.leaseRenewMs ?? LEASE_RENEW_MS);
      session.renewal.unref();
      return session;
    } catch (err) {
      await store.releaseLease(lease);
      throw err;
    }
  }

  /**
   * Queues a batch for the store, after the ones queued before; `linesDone` counts the records
   * read so far, `cursor` is where a resumed session starts. A failed commit fails `settle`.
   */
  commit(
    batch: Batch,
    linesDone: number,
    cursor?: CollectCursor,
    gaps: StoreGapRecord[] = [],
  ): Promise<Committed | undefined> {
    const done = this.committing.then(async (): Promise<Committed | undefined> => {
      if (this.failure !== undefined) return undefined;
      try {
        const committed = await this.store.commitBatch({
          ingestId: this.ingestId,
          lease: this.lease,
          batch,
          system: this.system,
          progress: { bytesDone: 0, linesDone, contentHash: "" },
          ...(cursor ? { cursor: { source: this.source, cursor } } : {}),
          ...(gaps.length > 0 ? { gaps } : {}),
        });
        const added = { ...batchCounts(batch), flows: committed.flows, replies: committed.replies };
        for (const k of Object.keys(added) as Array<keyof IngestCounts>) this.counts[k] += added[k];
        this.duplicates += committed.duplicates;
        return committed;
      } catch (err) {
        this.failure = err;
        return undefined;
      }
    });
    this.committing = done.then(() => {});
    return done;
  }

  /** The time (ms) of the newest flow whose uuid the store keeps (see FlowStore). */
  newestUuidTime(): Promise<number | undefined> {
    return this.store.newestUuidTime();
  }

  /** Waits for every queued commit; throws the first commit's failure. */
  async settle(): Promise<void> {
    await this.committing;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Settles, closes the row (`complete`, or `failed` when anything failed) and releases the lease. */
  async finish(outcome: "complete" | "failed"): Promise<void> {
    clearInterval(this.renewal);
    try {
      await this.committing;
      const status = outcome === "complete" && this.failure === undefined ? "complete" : "failed";
      await this.store.finishIngest(this.ingestId, status);
      if (this.failure !== undefined && outcome === "complete") throw this.failure;
    } finally {
      await this.store.releaseLease(this.lease);
    }
  }
}

/** Reconnect delays: exponential from `initialMs` up to `maxMs`, each with jitter (50-100%). */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** Failures in a row so far. */
  get attempts(): number {
    return this.failures;
  }

  next(): number {
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.failures);
    this.failures++;
    return delay * (0.5 + Math.random() * 0.5);
  }

  reset(): void {
    this.failures = 0;
  }
}

export type StoppedBy = "end" | "signal" | "duration";

/** Why a live collection stops: the caller's signal (Ctrl-C, SIGTERM) or its duration. */
export class Stop {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private reason: StoppedBy = "end";
  private readonly onAbort = () => this.stop("signal");

  constructor(private readonly outer: AbortSignal | undefined) {
    if (outer?.aborted) this.stop("signal");
    outer?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Stops after `durationMs` from now (no limit when undefined). */
  limit(durationMs: number | undefined): void {
    if (durationMs !== undefined) this.timer = setTimeout(() => this.stop("duration"), durationMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stoppedBy(): StoppedBy {
    return this.reason;
  }

  private stop(reason: StoppedBy): void {
    if (this.controller.signal.aborted) return;
    this.reason = reason;
    this.controller.abort();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.outer?.removeEventListener("abort", this.onAbort);
  }
}

/** Resolves after `ms`, or at once when the signal fires. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
