import type { Observed } from "../diff/observed.js";
import type { GraphInput, Scope } from "../graph/input.js";
import { batchCounts } from "../model/batch.js";
import { withoutFlows } from "../model/drop-flows.js";
import { type CollectCursor, closeStaleSessions, loadCursor, saveCursor } from "./collect-cursor.js";
import { type Db, type OpenOptions, openStore } from "./db.js";
import { addDuplicates, FlowUuids, newestUuidBlock } from "./flow-uuids.js";
import {
  findCompleteByContent,
  findPriorIngests,
  finishIngest,
  type IngestRow,
  recordProgress,
  reopenIngest,
  startIngest,
} from "./ingest-log.js";
import { acquireLeases, bindLease, type Lease, releaseLease, renewLease } from "./lease.js";
import { readGraphInput } from "./read-graph.js";
import { readObserved } from "./read-observed.js";
import { readStoreSnapshot, type StoreSnapshot } from "./read-report.js";
import { type StoreStats, storeClusters, storeStats } from "./stats.js";
import type {
  BatchCommit,
  BeginIngest,
  Committed,
  FlowStore,
  ObservedWindow,
  StoredWholeInput,
  WholeInput,
} from "./store.js";
import { BatchWriter } from "./write-batch.js";

/**
 * The embedded store: one SQLite file (db.ts), each commit one write transaction. The functions
 * of the other files in this folder do the work; this class is their `FlowStore` face.
 */
export class SqliteStore implements FlowStore {
  private writerOf: BatchWriter | undefined;
  private uuidsOf: FlowUuids | undefined;

  constructor(
    readonly db: Db,
    readonly location: string,
    private readonly now: () => number = Date.now,
  ) {}

  static open(path: string, options: OpenOptions = {}, now: () => number = Date.now): SqliteStore {
    return new SqliteStore(openStore(path, options), path, now);
  }

  private get writer(): BatchWriter {
    this.writerOf ??= new BatchWriter(this.db);
    return this.writerOf;
  }

  /** Recently stored flow uuids (flow-uuids.ts): a flow stored already, from any input, counts once. */
  private get uuids(): FlowUuids {
    this.uuidsOf ??= new FlowUuids(this.db);
    return this.uuidsOf;
  }

  async findPriorIngests(headHash: string, path: string): Promise<IngestRow[]> {
    return findPriorIngests(this.db, headHash, path);
  }

  async findCompleteByContent(contentHash: string): Promise<IngestRow | undefined> {
    return findCompleteByContent(this.db, contentHash);
  }

  async acquireLeases(keys: string[], what: string, hint: string): Promise<Lease> {
    return acquireLeases(this.db, keys, what, this.now(), hint);
  }

  async beginIngest(begin: BeginIngest, lease: Lease): Promise<number> {
    // The row and the lease naming it are written together: a row `running` without a lease is a killed run.
    return this.db.transaction(() => {
      let id: number;
      if (begin.resume) {
        id = begin.resume.id;
        reopenIngest(this.db, id, begin.headHash, begin.path);
      } else {
        if (begin.closeStaleSessions) closeStaleSessions(this.db, begin.row.path, this.now());
        id = startIngest(this.db, begin.row, this.now());
      }
      bindLease(this.db, lease, id, this.now());
      return id;
    })();
  }

  async commitBatch(commit: BatchCommit): Promise<Committed> {
    // IMMEDIATE: two runs storing overlapping inputs at once see each other's uuids.
    return this.rollsBack(() => this.db.transaction(() => this.apply(commit)).immediate());
  }

  /**
   * Runs a write transaction; when it rolls back, the writer and the uuid check are dropped with
   * what they remember of it (row ids, uuid blocks that are no longer stored).
   */
  private rollsBack<T>(write: () => T): T {
    try {
      return write();
    } catch (err) {
      this.writerOf = undefined;
      this.uuidsOf = undefined;
      throw err;
    }
  }

  private apply(commit: Omit<BatchCommit, "lease"> & { lease?: Lease }): Committed {
    const { ingestId, system } = commit;
    const drop = this.uuids.repeats([commit.batch])[0] ?? new Set<number>();
    const batch = withoutFlows(commit.batch, drop);
    this.writer.write(batch, ingestId, system);
    this.uuids.record(ingestId);
    addDuplicates(this.db, ingestId, drop.size);
    for (const g of commit.gaps ?? []) this.writer.recordGap({ ...g, system, ingestId });
    recordProgress(this.db, ingestId, { ...commit.progress, counts: batchCounts(batch) });
    if (commit.cursor) saveCursor(this.db, commit.cursor.source, commit.cursor.cursor, ingestId, this.now());
    if (commit.lease) renewLease(this.db, commit.lease, this.now());
    return { duplicates: drop.size, flows: batch.flows, replies: batch.replies };
  }

  async storeWholeInput(whole: WholeInput): Promise<StoredWholeInput> {
    return this.rollsBack(() =>
      this.db
        .transaction(() => {
          const ingestId = startIngest(this.db, whole.row, whole.startedAt);
          const stored: StoredWholeInput = { ingestId, duplicates: 0, flows: 0, replies: 0 };
          for (const batch of whole.batches) {
            const c = this.apply({ ingestId, batch, system: whole.system, progress: whole.progress });
            stored.duplicates += c.duplicates;
            stored.flows += c.flows;
            stored.replies += c.replies;
          }
          finishIngest(this.db, ingestId, "complete", this.now(), whole.format);
          return stored;
        })
        .immediate(),
    );
  }

  async renewLease(lease: Lease): Promise<void> {
    renewLease(this.db, lease, this.now());
  }

  async newestUuidTime(): Promise<number | undefined> {
    return newestUuidBlock(this.db);
  }

  async finishIngest(
    ingestId: number,
    status: "complete" | "failed",
    options: { format?: string; at?: number } = {},
  ): Promise<void> {
    finishIngest(this.db, ingestId, status, options.at ?? this.now(), options.format);
  }

  async releaseLease(lease: Lease): Promise<void> {
    try {
      releaseLease(this.db, lease);
    } catch {
      // The error that stopped the run is the one reported.
    }
  }

  async loadCursor(source: string): Promise<CollectCursor | undefined> {
    return loadCursor(this.db, source);
  }

  async clusters(): Promise<string[]> {
    return storeClusters(this.db);
  }

  async readGraphInput(scope: Scope, cluster: string): Promise<GraphInput> {
    return readGraphInput(this.db, scope, cluster);
  }

  async readObserved(window: ObservedWindow, cluster: string): Promise<Observed> {
    return readObserved(this.db, window, cluster);
  }

  async readSnapshot(cluster: string, window: ObservedWindow = {}): Promise<StoreSnapshot> {
    return readStoreSnapshot(this.db, cluster, window);
  }

  async stats(cluster: string | undefined, window: ObservedWindow = {}): Promise<StoreStats> {
    return storeStats(this.db, cluster, window);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
