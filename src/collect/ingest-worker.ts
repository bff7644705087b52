import { parentPort } from "node:worker_threads";
import { formatByName } from "./formats.js";
import { parseChunk } from "./parse-chunk.js";
import { decoderFor, type RecordDecoder } from "./record.js";

export interface WorkerJob {
  seq: number;
  bytes: Uint8Array;
  startLine: number;
  format: string;
}

const decoders = new Map<string, RecordDecoder>();

function decoder(name: string): RecordDecoder {
  let decode = decoders.get(name);
  if (!decode) {
    decode = decoderFor(formatByName(name));
    decoders.set(name, decode);
  }
  return decode;
}

/** Worker thread entry: parses chunks of lines and answers with pre-aggregated batches. */
parentPort?.on("message", (job: WorkerJob) => {
  try {
    const format = formatByName(job.format);
    const batch = parseChunk(job.bytes, job.startLine, format, decoder(job.format));
    parentPort?.postMessage({ seq: job.seq, batch });
  } catch (err) {
    parentPort?.postMessage({ seq: job.seq, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
