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
 * A small pool of parse workers. Jobs are submitted in order and their batches are returned in
 * the same order, so the store applies them sequentially.
 */
export class ParsePool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: Array<{ job: WorkerJob; resolve: (b: Batch) => void; reject: (e: Error) => void }> = [];
  private readonly inFlight = new Map<
    Worker,
    { resolve: (b: Batch) => void; reject: (e: Error) => void; shared: SharedArrayBuffer | undefined }
  >();
  /** Shared chunk buffers, given back here when the worker that read one answers. */
  readonly buffers = new BufferPool(KEPT_BUFFERS);

  constructor(size: number) {
    const script = workerScript();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script, { resourceLimits: WORKER_LIMITS });
      worker.unref();
      worker.on("message", (msg: { seq: number; batch?: Batch; error?: string }) => {
        const pending = this.inFlight.get(worker);
        if (pending?.shared) this.buffers.give(pending.shared);
        this.inFlight.delete(worker);
        if (pending) {
          if (msg.batch) pending.resolve(msg.batch);
          else pending.reject(new InternalError(`parse worker failed: ${msg.error ?? "unknown error"}`));
        }
        this.next(worker);
      });
      worker.on("error", (err) => {
        const pending = this.inFlight.get(worker);
        this.inFlight.delete(worker);
        pending?.reject(new InternalError(`parse worker crashed: ${err.message}`, undefined, { cause: err }));
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  parse(job: WorkerJob): Promise<Batch> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      const worker = this.idle.pop();
      if (worker) this.next(worker);
    });
  }

  private next(worker: Worker): void {
    const task = this.waiting.shift();
    if (!task) {
      this.idle.push(worker);
      return;
    }
    const memory = task.job.bytes.buffer;
    const shared = memory instanceof SharedArrayBuffer ? memory : undefined;
    this.inFlight.set(worker, { resolve: task.resolve, reject: task.reject, shared });
    worker.postMessage(task.job, shared ? [] : [memory as ArrayBuffer]);
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
