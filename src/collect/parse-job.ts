import type { Batch } from "../model/batch.js";
import { formatByName } from "./formats.js";
import { GRPC_FORMAT } from "./hubble/grpc-format.js";
import { parseChunk } from "./parse-chunk.js";
import { decoderFor, type RecordDecoder } from "./record.js";

/** A chunk of lines (or of gRPC messages, format `hubble-grpc`) to parse into one batch. */
export interface WorkerJob {
  seq: number;
  bytes: Uint8Array;
  startLine: number;
  format: string;
  defaultTime?: number | undefined;
  /** `--cluster`: the cluster of every flow in the chunk. */
  cluster?: string | undefined;
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

/** The gRPC decoder loads the generated protobuf code: only threads that parse gRPC need it. */
let grpcChunks: Promise<typeof import("./hubble/grpc-chunk.js")> | undefined;

/** Parses one job; the same code runs in a worker and, for a dead worker's jobs, on the main thread. */
export async function parseJob(job: WorkerJob): Promise<Batch> {
  if (job.format !== GRPC_FORMAT) {
    const decode = decoder(job.format, job.defaultTime);
    return parseChunk(job.bytes, job.startLine, formatByName(job.format), decode, job.cluster);
  }
  grpcChunks ??= import("./hubble/grpc-chunk.js");
  return (await grpcChunks).parseGrpcChunk(job.bytes, job.startLine, job.cluster);
}
