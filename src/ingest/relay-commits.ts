import type { StreamCall } from "../collect/grpc/channel.js";
import { ChunkWriter, GRPC_FORMAT, type NanoTime, parseGrpcChunk } from "../collect/hubble/grpc-chunk.js";
import type { ParsePool } from "../collect/worker-pool.js";
import type { Batch } from "../model/batch.js";
import type { IngestCounts } from "../store/ingest-log.js";
import type { LiveSession } from "./live-session.js";
import type { RelayResume } from "./relay-resume.js";

/** A chunk buffer's first size; it grows to hold the chunk's messages, and stays that size after. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/** A node Relay said was unavailable, stored as a gap with the next batch. */
export interface NodeGap {
  node: string;
  detail: string;
  time: number | null;
}

interface QueuedBatch {
  batch: Promise<Batch>;
  cursor?: { time: NanoTime; keys: string[] };
  /** Messages received up to the end of this batch. */
  messages: number;
}

/** What a collection has received and dropped as taken already (the summary's counters). */
export interface RelayTally {
  messages: number;
  duplicates: number;
}

/**
 * The messages of a Hubble Relay stream on their way to the store: gathered into chunks, parsed
 * by the workers (or here without any), and committed in the order received, each batch with the
 * cursor after it, so a collection stopped at any point resumes where its last commit ended.
 */
export class RelayCommits {
  private readonly chunk: ChunkWriter;
  private readonly queue: QueuedBatch[] = [];
  private readonly gaps: NodeGap[] = [];
  private messageNo = 1;
  private committing: Promise<void> = Promise.resolve();

  constructor(
    private readonly live: LiveSession,
    private readonly pool: ParsePool | undefined,
    private readonly cluster: string | undefined,
    private readonly resume: RelayResume,
    private readonly tally: RelayTally,
    private readonly counts: IngestCounts,
    private readonly limits: {
      /** Messages per chunk. */
      batchMessages: number;
      /** Batches queued before the stream is paused until the store catches up. */
      maxQueue: number;
      onProgress?: (p: { flows: number; lost: number; messages: number }) => void;
    },
  ) {
    this.chunk = new ChunkWriter(CHUNK_BYTES, pool && ((size) => pool.buffers.take(size)));
  }

  /** The stream paused while the queue is full. */
  private paused: StreamCall | undefined;

  /** Adds a message of `stream`; a full chunk goes to be parsed, and a full queue pauses the stream. */
  add(buf: Buffer, stream: StreamCall | undefined): void {
    this.chunk.add(buf);
    if (this.chunk.count < this.limits.batchMessages) return;
    this.flush();
    const { maxQueue } = this.limits;
    if (this.queue.length < maxQueue || this.paused || !stream) return;
    this.paused = stream;
    stream.pause();
    this.drain(maxQueue - 1)
      .catch(() => {}) // the error surfaces at the final drain
      .then(() => {
        this.paused?.resume();
        this.paused = undefined;
      });
  }

  /** The stream a full queue paused has ended: nothing to resume. */
  streamEnded(): void {
    this.paused = undefined;
  }

  addGap(gap: NodeGap): void {
    this.gaps.push(gap);
  }

  /** Messages in the chunk being gathered. */
  get chunked(): number {
    return this.chunk.count;
  }

  /** Batches parsed or being parsed, not yet committed. */
  get queued(): number {
    return this.queue.length;
  }

  /** Sends the chunk gathered so far to be parsed, with the cursor after it. */
  flush(): void {
    if (this.chunk.count === 0 && this.gaps.length === 0) return;
    const first = this.messageNo;
    this.messageNo += this.chunk.count;
    const bytes = this.chunk.take();
    // The main thread does not parse when there are workers: a chunk parsed here holds up the
    // stream for as long, while the workers run dry; and one more thread would warm up the decoder.
    const batch = this.pool
      ? this.pool.parse({ seq: 0, bytes, startLine: first, format: GRPC_FORMAT, cluster: this.cluster })
      : Promise.resolve(parseGrpcChunk(bytes, first, this.cluster));
    batch.catch(() => {});
    const cursor = this.resume.cursor();
    const messages = this.tally.messages;
    this.queue.push(cursor ? { batch, cursor, messages } : { batch, messages });
  }

  /** Commits queued batches, in order, until at most `max` are left. */
  drain(max: number): Promise<void> {
    this.committing = this.committing.then(async () => {
      while (this.queue.length > max) await this.commitOne();
    });
    return this.committing;
  }

  private async commitOne(): Promise<void> {
    const item = this.queue.shift();
    if (!item) return;
    const batch = await item.batch;
    const gaps = this.gaps.splice(0).map((g) => ({ kind: "node_unavailable", count: 1, ...g }));
    const cursor = item.cursor ? { ...item.cursor.time, keys: item.cursor.keys } : undefined;
    // The store takes out flows whose uuid and time it holds (a reconnect's re-read window, another input).
    const committed = await this.live.commit(batch, item.messages, cursor, gaps);
    await this.live.settle();
    const counts = this.counts;
    this.tally.duplicates += committed?.duplicates ?? 0;
    counts.flows += committed?.flows ?? 0;
    counts.replies += committed?.replies ?? 0;
    counts.skipped += batch.skipped;
    counts.bad += batch.bad;
    counts.lost += batch.lost.reduce((n, l) => n + l.lost, 0);
    this.limits.onProgress?.({ flows: counts.flows, lost: counts.lost, messages: this.tally.messages });
  }
}
