import { parentPort } from "node:worker_threads";
import { formatByName } from "./formats.js";
import { parseChunk } from "./parse-chunk.js";

export interface WorkerJob {
  seq: number;
  bytes: Uint8Array;
  startLine: number;
  format: string;
}

/** Worker thread entry: parses chunks of lines and answers with pre-aggregated batches. */
parentPort?.on("message", (job: WorkerJob) => {
  try {
    const batch = parseChunk(job.bytes, job.startLine, formatByName(job.format));
    parentPort?.postMessage({ seq: job.seq, batch });
  } catch (err) {
    parentPort?.postMessage({ seq: job.seq, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
