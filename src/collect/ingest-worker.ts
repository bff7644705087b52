import { parentPort } from "node:worker_threads";
import { parseJob, type WorkerJob } from "./parse-job.js";

export type { WorkerJob };

/**
 * Worker thread entry: parses chunks of lines (or of gRPC messages, format `hubble-grpc`) and
 * answers with pre-aggregated batches. A worker holds up to two jobs and parses them in turn.
 */
parentPort?.on("message", async (job: WorkerJob) => {
  try {
    const batch = await parseJob(job);
    // File chunks live in shared memory that the pool fills again once this answer arrives. Other
    // chunks (gRPC messages) were copied here and go back with the batch: kept, they would count as
    // external memory until a full collection, and make V8 run one every few chunks.
    const memory = job.bytes.buffer;
    parentPort?.postMessage(
      { seq: job.seq, batch },
      memory instanceof SharedArrayBuffer ? [] : [memory as ArrayBuffer],
    );
  } catch (err) {
    parentPort?.postMessage({ seq: job.seq, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
