import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type ResourceLimits, Worker } from "node:worker_threads";
import { InternalError } from "../errors.js";
import type { Batch } from "../model/batch.js";
import { BufferPool } from "./buffer-pool.js";
import { parseJob, type WorkerJob } from "./parse-job.js";

/**
 * Heap limits per worker. The parser's memory is bounded by its own caches (see docs/design.md,
 * "The fast-path kit"); the limit only stops a runaway worker, whose jobs the main thread then parses.
 */
const WORKER_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 };
/** Chunk buffers kept for reuse: enough for every worker's chunk and the ones queued behind. */
const KEPT_BUFFERS = 8;
/** Workers started in place of dead ones over a pool's life; past this the main thread parses. */
const MAX_REPLACEMENTS = 4;

/**
 * Jobs a worker holds at once: the one it parses and the next, waiting in its message queue. It
 * starts the next as soon as it has answered, without waiting for the main thread (which may be
 * hashing or writing a batch) to send one.
 */
const JOBS_PER_WORKER = 2;

interface Task {
  job: WorkerJob;
  resolve: (b: Batch) => void;
  reject: (e: Error) => void;
}

interface Pending extends Task {
  worker: Worker;
  shared: SharedArrayBuffer | undefined;
}

export interface ParsePoolOptions {
  /** Heap limits per worker; tests pass tiny ones to make workers die. */
  resourceLimits?: ResourceLimits;
}

/**
 * A small pool of parse workers. Each job's batch comes back through its own promise; callers
 * that apply batches in order await them in order.
 *
 * Invariant: every job is answered exactly once, with the batch of all its lines. A worker that
 * dies (out of memory, crash, exit) loses no job: the jobs it held are parsed again on the main
 * thread, from the same bytes, and a fresh worker takes its place.
 */
export class ParsePool {
  private readonly workers: Worker[] = [];
  private readonly waiting: Task[] = [];
  private readonly inFlight = new Map<number, Pending>();
  private readonly script = workerScript();
  private readonly limits: ResourceLimits;
  private replacements = 0;
  private closing = false;
  private seq = 0;
  /** Workers that died, with why: the ingest reports them. */
  readonly deaths: string[] = [];
  /** Shared chunk buffers, given back here when the worker that read one answers. */
  readonly buffers = new BufferPool(KEPT_BUFFERS);

  constructor(size: number, options: ParsePoolOptions = {}) {
    this.limits = options.resourceLimits ?? WORKER_LIMITS;
    for (let i = 0; i < size; i++) this.start();
  }

  private start(): void {
    const worker = new Worker(this.script, { resourceLimits: this.limits });
    worker.unref();
    worker.on("message", (msg: { seq: number; batch?: Batch; error?: string }) => {
      const pending = this.inFlight.get(msg.seq);
      if (!pending) return;
      this.inFlight.delete(msg.seq);
      this.holdOpenWhileBusy(worker);
      if (pending.shared) this.buffers.give(pending.shared);
      if (msg.batch) pending.resolve(msg.batch);
      else pending.reject(new InternalError(`parse worker failed: ${msg.error ?? "unknown error"}`));
      this.dispatch();
    });
    worker.on("error", (err) => this.died(worker, err.message));
    worker.on("exit", (code) => this.died(worker, `exited with code ${code}`));
    this.workers.push(worker);
  }

  /** A worker is gone: its jobs are parsed on the main thread and a fresh worker takes its place. */
  private died(worker: Worker, reason: string): void {
    const at = this.workers.indexOf(worker);
    if (at < 0 || this.closing) return;
    this.workers.splice(at, 1);
    this.deaths.push(reason);
    for (const [seq, pending] of this.inFlight) {
      if (pending.worker !== worker) continue;
      this.inFlight.delete(seq);
      this.parseHere(pending);
    }
    if (this.replacements < MAX_REPLACEMENTS) {
      this.replacements++;
      this.start();
    }
    this.dispatch();
  }

  private parseHere(task: Task & { shared?: SharedArrayBuffer | undefined }): void {
    parseJob(task.job).then(
      (batch) => {
        if (task.shared) this.buffers.give(task.shared);
        task.resolve(batch);
      },
      (err: unknown) => task.reject(err instanceof Error ? err : new InternalError(String(err))),
    );
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
      if (!worker) {
        // No worker left: the main thread parses what waits.
        if (this.workers.length === 0) for (const task of this.waiting.splice(0)) this.parseHere(task);
        return;
      }
      const task = this.waiting.shift() as (typeof this.waiting)[number];
      const memory = task.job.bytes.buffer;
      const shared = memory instanceof SharedArrayBuffer ? memory : undefined;
      const seq = ++this.seq;
      this.inFlight.set(seq, { ...task, worker, shared });
      this.holdOpenWhileBusy(worker);
      // Copied, not moved: the main thread keeps the bytes to parse them again if the worker dies.
      worker.postMessage({ ...task.job, seq });
    }
  }

  /**
   * A worker with jobs keeps the process alive; an idle one does not (a pool nobody closes must
   * not hold the process open). Unreferenced while busy, a worker let Node exit whenever the main
   * thread had nothing else to wait on (the whole input read, the chunk buffers all out): the
   * command then stopped with its batches unanswered.
   */
  private holdOpenWhileBusy(worker: Worker): void {
    for (const pending of this.inFlight.values()) {
      if (pending.worker === worker) {
        worker.ref();
        return;
      }
    }
    worker.unref();
  }

  async close(): Promise<void> {
    this.closing = true;
    // Referenced until they are gone: an idle (unreferenced) worker's exit could come after Node
    // found nothing left to run, leaving this close, and the command, unfinished.
    await Promise.all(
      this.workers.map((w) => {
        w.ref();
        return w.terminate();
      }),
    );
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
