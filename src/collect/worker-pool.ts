import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { InternalError } from "../errors.js";
import type { Batch } from "./aggregate.js";
import { BufferPool } from "./buffer-pool.js";
import type { WorkerJob } from "./ingest-worker.js";

/** Bounded heaps: a worker holds one chunk and its batch at a time, so RSS stays flat. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 };
/** Chunk buffers kept for reuse: enough for every worker's chunk and the ones queued behind. */
const KEPT_BUFFERS = 8;

/**
 * Jobs a worker holds at once: the one it parses and the next, waiting in its message queue. It
 * starts the next as soon as it has answered, without waiting for the main thread (which may be
 * hashing or writing a batch) to send one.
 */
const JOBS_PER_WORKER = 2;

interface Pending {
  worker: Worker;
  resolve: (b: Batch) => void;
  reject: (e: Error) => void;
  shared: SharedArrayBuffer | undefined;
}

/**
 * A small pool of parse workers. Each job's batch comes back through its own promise; callers
 * that apply batches in order await them in order.
 */
export class ParsePool {
  private readonly workers: Worker[] = [];
  private readonly waiting: Array<{ job: WorkerJob; resolve: (b: Batch) => void; reject: (e: Error) => void }> = [];
  private readonly inFlight = new Map<number, Pending>();
  private seq = 0;
  /** Shared chunk buffers, given back here when the worker that read one answers. */
  readonly buffers = new BufferPool(KEPT_BUFFERS);

  constructor(size: number) {
    const script = workerScript();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script, { resourceLimits: WORKER_LIMITS });
      worker.unref();
      worker.on("message", (msg: { seq: number; batch?: Batch; error?: string }) => {
        const pending = this.inFlight.get(msg.seq);
        if (!pending) return;
        this.inFlight.delete(msg.seq);
        if (pending.shared) this.buffers.give(pending.shared);
        if (msg.batch) pending.resolve(msg.batch);
        else pending.reject(new InternalError(`parse worker failed: ${msg.error ?? "unknown error"}`));
        this.dispatch();
      });
      worker.on("error", (err) => {
        // A crashed worker gets no more jobs; with none left, the waiting jobs fail too.
        this.workers.splice(this.workers.indexOf(worker), 1);
        const crashed = new InternalError(`parse worker crashed: ${err.message}`, undefined, { cause: err });
        for (const [seq, pending] of this.inFlight) {
          if (pending.worker !== worker) continue;
          this.inFlight.delete(seq);
          pending.reject(crashed);
        }
        if (this.workers.length === 0) for (const task of this.waiting.splice(0)) task.reject(crashed);
      });
      this.workers.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  parse(job: WorkerJob): Promise<Batch> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Sends waiting jobs to the least loaded workers that have room. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      let worker: Worker | undefined;
      let least = JOBS_PER_WORKER;
      for (const w of this.workers) {
        let jobs = 0;
        for (const pending of this.inFlight.values()) if (pending.worker === w) jobs++;
        if (jobs < least) {
          worker = w;
          least = jobs;
        }
      }
      if (!worker) return;
      const task = this.waiting.shift() as (typeof this.waiting)[number];
      const memory = task.job.bytes.buffer;
      const shared = memory instanceof SharedArrayBuffer ? memory : undefined;
      const seq = ++this.seq;
      this.inFlight.set(seq, { worker, resolve: task.resolve, reject: task.reject, shared });
      worker.postMessage({ ...task.job, seq }, shared ? [] : [memory as ArrayBuffer]);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * The compiled worker script. Under the test runner this module is TypeScript source, so it
 * falls back to the build in dist/ (the test command builds first).
 */
function workerScript(): URL | string {
  const sibling = new URL("./ingest-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const dist = fileURLToPath(new URL("../../dist/collect/ingest-worker.js", import.meta.url));
  if (existsSync(dist)) return dist;
  throw new InternalError("the ingest worker script is missing", "run `npm run build` first");
}
