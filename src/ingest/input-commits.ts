import { BatchMerger } from "../collect/merge-batches.js";
import { InputError } from "../errors.js";
import type { Batch } from "../model/batch.js";
import type { IngestCounts } from "../store/ingest-log.js";
import type { Lease } from "../store/lease.js";
import type { FlowStore, WholeInput } from "../store/store.js";

/** Bad lines shown per input; all are counted. */
export const SHOWN_BAD_LINES = 5;
/** Chunks merged before one write to the store (2 x 8 MiB: a transaction per 16 MiB; see docs/design.md). */
const FLUSH_BATCHES = 2;

export function zeroCounts(): IngestCounts {
  return { flows: 0, replies: 0, skipped: 0, bad: 0, lost: 0 };
}

export function addCounts(counts: IngestCounts, batch: Batch): void {
  counts.flows += batch.flows;
  counts.replies += batch.replies;
  counts.skipped += batch.skipped;
  counts.bad += batch.bad;
  counts.lost += batch.lost.reduce((n, l) => n + l.lost, 0);
}

/** How far into the input a batch reaches: the ingest log's progress once it is stored. */
export interface InputMark {
  endOffset: number;
  endLine: number;
  digest: string;
}

export interface InputCommitsOptions {
  input: string;
  store: FlowStore;
  /** The ingest log row written to batch by batch; undefined: the input is stored whole at its end. */
  ingestId: number | undefined;
  lease: Lease;
  system: string;
  strict: boolean;
  /** Batches being parsed before the queue waits for the oldest one. */
  maxQueue: number;
  /** The counts of what this run stored, across inputs (said when a later input fails). */
  stored: IngestCounts;
  onProgress?: (flows: number) => void;
}

/**
 * The batches of one input on their way to the store, in input order. Batches from the workers
 * are merged and written every FLUSH_BATCHES chunks, each write in one transaction with the ingest
 * log's progress: the store is always at a chunk boundary. The store takes out flows whose uuid
 * and time it holds already (another input, or earlier in this one).
 */
export class InputCommits {
  readonly counts = zeroCounts();
  readonly badLines: Array<{ line: number; reason: string }> = [];
  /** Lines over the length limit, counted as bad lines with the next batch. */
  readonly overlong: Array<{ line: number; reason: string }> = [];
  /** Batches of an input stored whole, at its end. */
  readonly wholeBatches: Batch[] = [];
  duplicates = 0;
  /** A last line without its newline, left unread: the file may still be written. */
  heldLine: number | undefined;
  /** How far the batches merged so far reach. */
  flushedTo: InputMark | undefined;
  private readonly queue: Array<{ batch: Promise<Batch> } & InputMark> = [];
  private readonly merger = new BatchMerger();

  constructor(private readonly o: InputCommitsOptions) {}

  /** What the result says beside the counts: a held last line, flows not stored again. */
  note(): { heldLine?: number; duplicates?: number } {
    return {
      ...(this.heldLine === undefined ? {} : { heldLine: this.heldLine }),
      ...(this.duplicates > 0 ? { duplicates: this.duplicates } : {}),
    };
  }

  /** Queues a batch being parsed; waits for the oldest ones while the queue is full. */
  async push(batch: Promise<Batch>, mark: InputMark): Promise<void> {
    batch.catch(() => {});
    this.queue.push({ batch, ...mark });
    while (this.queue.length >= this.o.maxQueue) await this.commit();
  }

  /** Commits every queued batch and writes what is merged. */
  async finish(): Promise<void> {
    while (this.queue.length > 0) await this.commit();
    await this.flush();
  }

  /** Stores an input read whole (stdin, --strict) in one piece, after its last batch. */
  async storeWhole(row: WholeInput["row"], startedAt: number, format: string): Promise<void> {
    const mark = this.flushedTo ?? { endOffset: 0, endLine: 0, digest: "" };
    const whole = await this.o.store.storeWholeInput({
      row,
      startedAt,
      batches: this.wholeBatches,
      system: this.o.system,
      progress: { bytesDone: mark.endOffset, linesDone: mark.endLine, contentHash: mark.digest },
      format,
    });
    this.duplicates += whole.duplicates;
    this.counts.flows = whole.flows;
    this.counts.replies = whole.replies;
  }

  private async flush(): Promise<void> {
    if (this.merger.size === 0 || !this.flushedTo) return;
    const batch = this.merger.take();
    const mark = this.flushedTo;
    const { ingestId, store } = this.o;
    if (ingestId === undefined) {
      this.wholeBatches.push(batch);
      return;
    }
    const committed = await store.commitBatch({
      ingestId,
      lease: this.o.lease,
      batch,
      system: this.o.system,
      progress: { bytesDone: mark.endOffset, linesDone: mark.endLine, contentHash: mark.digest },
    });
    this.duplicates += committed.duplicates;
    this.counts.flows -= batch.flows - committed.flows;
    this.counts.replies -= batch.replies - committed.replies;
    addCounts(this.o.stored, { ...batch, flows: committed.flows, replies: committed.replies });
  }

  private async commit(): Promise<void> {
    const head = this.queue.shift();
    if (!head) return;
    const batch = await head.batch;
    for (const o of this.overlong.splice(0)) {
      batch.bad++;
      if (batch.badLines.length < 20) batch.badLines.push(o);
    }
    if (this.o.strict && batch.bad > 0) {
      const first = batch.badLines[0];
      throw new InputError(
        first?.reason ?? "bad line",
        { file: this.o.input, line: first?.line ?? 0 },
        "fix or remove the line, or run without --strict to skip bad lines and ingest the rest",
      );
    }
    this.merger.add(batch);
    this.flushedTo = { endOffset: head.endOffset, endLine: head.endLine, digest: head.digest };
    if (this.merger.size >= FLUSH_BATCHES) await this.flush();
    addCounts(this.counts, batch);
    for (const b of batch.badLines) if (this.badLines.length < SHOWN_BAD_LINES) this.badLines.push(b);
    this.o.onProgress?.(this.counts.flows);
  }
}
