import { parentPort } from "node:worker_threads";
import type { Batch } from "./aggregate.js";
import { formatByName } from "./formats.js";
import { GRPC_FORMAT } from "./hubble/grpc-format.js";
import { parseChunk } from "./parse-chunk.js";
import { decoderFor, type RecordDecoder } from "./record.js";

export interface WorkerJob {
  seq: number;
  bytes: Uint8Array;
  startLine: number;
  format: string;
  defaultTime?: number | undefined;
}

const decoders = new Map<string, RecordDecoder>();

function decoder(name: string, defaultTime: number | undefined): RecordDecoder {
  const key = `${name}@${defaultTime ?? ""}`;
  let decode = decoders.get(key);
  if (!decode) {
    decode = decoderFor(formatByName(name), { defaultTime });
    decoders.set(key, decode);
  }
  return decode;
}

/** The gRPC decoder loads the generated protobuf code: only workers that parse gRPC need it. */
let grpcChunks: Promise<typeof import("./hubble/grpc-chunk.js")> | undefined;

async function parseJob(job: WorkerJob): Promise<Batch> {
  if (job.format !== GRPC_FORMAT) {
    return parseChunk(job.bytes, job.startLine, formatByName(job.format), decoder(job.format, job.defaultTime));
  }
  grpcChunks ??= import("./hubble/grpc-chunk.js");
  return (await grpcChunks).parseGrpcChunk(job.bytes, job.startLine);
}

/**
 * Worker thread entry: parses chunks of lines (or of gRPC messages, format `hubble-grpc`) and
 * answers with pre-aggregated batches. A worker holds up to two jobs and parses them in turn.
 */
parentPort?.on("message", async (job: WorkerJob) => {
  try {
    const batch = await parseJob(job);
    // File chunks live in shared memory that the pool fills again once this answer arrives. Other
    // chunks (gRPC messages) were moved here and go back with the batch: kept, they would count as
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
