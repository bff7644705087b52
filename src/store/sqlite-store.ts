import type { Observed } from "../diff/observed.js";
import type { GraphInput, Scope } from "../graph/input.js";
import { batchCounts } from "../model/batch.js";
import { type CollectCursor, closeStaleSessions, loadCursor, saveCursor } from "./collect-cursor.js";
import { type Db, type OpenOptions, openStore } from "./db.js";
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
import type { BatchCommit, BeginIngest, FlowStore, ObservedWindow, WholeInput } from "./store.js";
import { BatchWriter } from "./write-batch.js";

/**
 * The embedded store: one SQLite file (db.ts), each commit one write transaction. The functions
 * of the other files in this folder do the work; this class is their `FlowStore` face.
 */
export class SqliteStore implements FlowStore {
  private writerOf: BatchWriter | undefined;

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

  async commitBatch(commit: BatchCommit): Promise<void> {
    this.db.transaction(() => this.apply(commit))();
  }

  private apply(commit: Omit<BatchCommit, "lease"> & { lease?: Lease }): void {
    const { ingestId, batch, system } = commit;
    this.writer.write(batch, ingestId, system);
    for (const g of commit.gaps ?? []) this.writer.recordGap({ ...g, system, ingestId });
    recordProgress(this.db, ingestId, { ...commit.progress, counts: batchCounts(batch) });
    if (commit.cursor) saveCursor(this.db, commit.cursor.source, commit.cursor.cursor, ingestId, this.now());
    if (commit.lease) renewLease(this.db, commit.lease, this.now());
  }

  async storeWholeInput(whole: WholeInput): Promise<number> {
    return this.db.transaction(() => {
      const id = startIngest(this.db, whole.row, whole.startedAt);
      for (const batch of whole.batches) {
        this.apply({ ingestId: id, batch, system: whole.system, progress: whole.progress });
      }
      finishIngest(this.db, id, "complete", this.now(), whole.format);
      return id;
    })();
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

  async readSnapshot(cluster: string): Promise<StoreSnapshot> {
    return readStoreSnapshot(this.db, cluster);
  }

  async stats(cluster: string | undefined): Promise<StoreStats> {
    return storeStats(this.db, cluster);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
