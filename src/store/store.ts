import type { Observed } from "../diff/observed.js";
import type { GraphInput, Scope } from "../graph/input.js";
import type { Batch } from "../model/batch.js";
import type { CollectCursor } from "./collect-cursor.js";
import type { IngestRow } from "./ingest-log.js";
import type { Lease } from "./lease.js";
import type { StoreSnapshot } from "./read-report.js";
import type { StoreStats } from "./stats.js";

/**
 * The store, as every command and collector sees it: one interface, one implementation per
 * backend (SQLite in `sqlite-store.ts`, ClickHouse in `clickhouse/`). `openFlowStore` (open.ts)
 * picks one from the `--db` value. Nothing outside `store/` opens a database.
 *
 * Contract, identical across implementations (docs/design.md, "The store interface"):
 * - Exactly once. `commitBatch` and `storeWholeInput` are atomic: after a crash at any point the
 *   batch, its ingest-log progress, its cursor, its gaps and the lease renewal are all stored or
 *   none is. A network store that retries a write recognises the retry (batch identities), so a
 *   batch is never counted twice; a run killed and re-run resumes from the progress stored.
 * - A lease is held by one live run; a second `acquireLeases` on any of its keys throws `LeaseHeld`.
 *   An ingest-log row stays `running` only while a lease names it.
 * - Reads are deterministic: rows come in the orders documented on each type (the orders of
 *   today's SQLite queries), so every command's output is byte-identical on every backend.
 * - Every read takes the cluster to read; `undefined` reads every cluster (stats only: the
 *   commands resolve one cluster before they read, see `resolveCluster`).
 * - Methods may be called only after the previous call's promise settled (one run, one writer).
 */
export interface FlowStore {
  /** How the store is named in messages: the file path, or the URL without credentials. */
  readonly location: string;

  // The ingest log (exactly-once bookkeeping of files and collection sessions).
  /** Candidates for "this file was ingested before": same head of content, or same path; longest first. */
  findPriorIngests(headHash: string, path: string): Promise<IngestRow[]>;
  findCompleteByContent(contentHash: string): Promise<IngestRow | undefined>;
  /**
   * Takes every key for this run, or none (throws `LeaseHeld` naming the holder); marks `running`
   * rows no lease protects as failed. `what` names the input in the message.
   */
  acquireLeases(keys: string[], what: string, hint: string): Promise<Lease>;
  /**
   * Starts (or, with `resume`, reopens) an ingest-log row and binds the lease to it, atomically.
   * `closeStaleSessions` first marks this source's collection sessions still `running` as failed.
   */
  beginIngest(begin: BeginIngest, lease: Lease): Promise<number>;
  /**
   * Stores one batch with its bookkeeping, exactly once (see the contract above). Flows whose uuid
   * and time the store holds already, from any input, are taken out first (`duplicates`).
   */
  commitBatch(commit: BatchCommit): Promise<Committed>;
  /**
   * Stores a whole input at once (stdin, `--strict`, JSON arrays): a `complete` ingest-log row and
   * its batches, atomically; nothing is stored when the call fails. Returns the row's id.
   */
  storeWholeInput(whole: WholeInput): Promise<StoredWholeInput>;
  /** Keeps a live run's lease fresh while it stores nothing (a quiet `--follow` stream). */
  renewLease(lease: Lease): Promise<void>;
  /** The time (ms) of the newest flow whose uuid the store keeps; undefined when it keeps none. */
  newestUuidTime(): Promise<number | undefined>;
  finishIngest(
    ingestId: number,
    status: "complete" | "failed",
    options?: { format?: string; at?: number },
  ): Promise<void>;
  /** Never throws: a lease left behind is taken over once its process is gone. */
  releaseLease(lease: Lease): Promise<void>;
  /** Where a streaming collector left off. */
  loadCursor(source: string): Promise<CollectCursor | undefined>;

  // Reads. Clusters are named by `clusters()`; flows without a cluster name are in `DEFAULT_CLUSTER`.
  /** The clusters with flows, sorted. */
  clusters(): Promise<string[]>;
  readGraphInput(scope: Scope, cluster: string): Promise<GraphInput>;
  readObserved(window: ObservedWindow, cluster: string): Promise<Observed>;
  /** With a window, edges and endpoints count the flows of its whole hours (model/edge-hours.ts). */
  readSnapshot(cluster: string, window?: ObservedWindow): Promise<StoreSnapshot>;
  /** With a window, the graph's figures are the window's (whole hours); the ingest log's stay the store's. */
  stats(cluster: string | undefined, window?: ObservedWindow): Promise<StoreStats>;

  close(): Promise<void>;
}

/**
 * A time window (`--since`/`--until`), in ms since the epoch; either end may be open, both open is
 * all time. Reads round it out to whole hours and count the flows there (docs/design.md, "Time windows").
 */
export interface ObservedWindow {
  since?: number | undefined;
  until?: number | undefined;
}

export type BeginIngest =
  | {
      resume?: undefined;
      row: Pick<IngestRow, "source_system" | "kind" | "path" | "format" | "head_hash">;
      /** A collection's source: its sessions left `running` by a killed run are marked failed first. */
      closeStaleSessions?: boolean;
    }
  | { resume: IngestRow; headHash: string; path: string };

export interface BatchCommit {
  ingestId: number;
  lease: Lease;
  batch: Batch;
  /** The source system the batch's edges and gaps are recorded under. */
  system: string;
  /** Where the input stands once this batch is stored (file offset and line, or messages read). */
  progress: { bytesDone: number; linesDone: number; contentHash: string };
  /** A streaming collector's resume point after this batch. */
  cursor?: { source: string; cursor: CollectCursor };
  /** Gaps that are not lost-events records (e.g. nodes Relay reported unavailable). */
  gaps?: StoreGapRecord[];
}

/** What a commit stored: its flows and replies after repeats of stored flows were taken out. */
export interface Committed {
  duplicates: number;
  flows: number;
  replies: number;
}

export interface StoredWholeInput extends Committed {
  ingestId: number;
}

export interface StoreGapRecord {
  kind: string;
  node: string;
  detail: string;
  count: number;
  time: number | null;
}

export interface WholeInput {
  row: Pick<IngestRow, "source_system" | "kind" | "path" | "format" | "head_hash">;
  /** When reading the input began (ms): the row's `started_at`. */
  startedAt: number;
  batches: Batch[];
  system: string;
  progress: { bytesDone: number; linesDone: number; contentHash: string };
  /** The format recorded when the row completes (a detected format), if it differs from the row's. */
  format?: string;
}
