import { createHash, type Hash } from "node:crypto";
import { statSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve as resolvePath } from "node:path";
import type { Readable } from "node:stream";
import { arrayElementLines } from "../collect/array-element-lines.js";
import { BatchBuilder } from "../collect/batch-builder.js";
import { type ByteSource, fileSource, streamSource } from "../collect/byte-source.js";
import { lineChunks } from "../collect/chunks.js";
import { detectFormat, formatByName } from "../collect/formats.js";
import { BatchMerger } from "../collect/merge-batches.js";
import { addValue, jsonText, parseChunk } from "../collect/parse-chunk.js";
import { openInput } from "../collect/read-input.js";
import { decoderFor, type RecordFormat } from "../collect/record.js";
import { ParsePool } from "../collect/worker-pool.js";
import { type FlowpolError, InputError, toFlowpolError } from "../errors.js";
import type { Batch } from "../model/batch.js";
import type { IngestCounts, IngestRow } from "../store/ingest-log.js";
import type { Lease } from "../store/lease.js";
import type { FlowStore } from "../store/store.js";

export const HEAD_BYTES = 64 * 1024;
const ZSTD_MAGIC = 0xfd2fb528;
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/** How many lines format detection looks at before it calls the input "not flows". */
export const DETECT_LINES = 50;
/** Files smaller than this are parsed on the main thread: starting workers would cost more. */
const INLINE_BYTES = 4 * 1024 * 1024;
const MAX_ARRAY_BYTES = 1024 * 1024 * 1024;
const SHOWN_BAD_LINES = 5;
/** Chunks merged before one write to the store (2 x 8 MiB: a transaction per 16 MiB; see docs/design.md). */
const FLUSH_BATCHES = 2;

export interface IngestProgress {
  input: string;
  rawBytesRead: number;
  totalBytes: number | undefined;
  flows: number;
}

export interface IngestOptions {
  store: FlowStore;
  /** `--cluster`: the cluster of every flow read (else the cluster each record names, else "default"). */
  cluster?: string | undefined;
  inputs: string[];
  /** A format name, or "auto" (default). */
  format?: string;
  strict?: boolean;
  /** The time (ms) for records without one (`--default-time`); without it they are bad lines. */
  defaultTime?: number | undefined;
  /** Parse workers; default: one per 256 MiB of input, at most one per core and 4. 0 parses on the main thread. */
  workers?: number;
  stdin?: Readable;
  now?: () => number;
  onProgress?: (p: IngestProgress) => void;
  chunkBytes?: number;
  maxLineBytes?: number;
}

export type IngestOutcome = "ingested" | "resumed" | "already-ingested" | "empty" | "failed";

export interface InputResult {
  input: string;
  outcome: IngestOutcome;
  format?: string;
  counts: IngestCounts;
  badLines: Array<{ line: number; reason: string }>;
  /** A last line without its newline, left unread: the file may still be written. */
  heldLine?: number;
  /** Flows not stored again: their uuid and time were stored already (from this or another input). */
  duplicates?: number;
  error?: FlowpolError;
}

function zeroCounts(): IngestCounts {
  return { flows: 0, replies: 0, skipped: 0, bad: 0, lost: 0 };
}

function addCounts(counts: IngestCounts, batch: Batch): void {
  counts.flows += batch.flows;
  counts.replies += batch.replies;
  counts.skipped += batch.skipped;
  counts.bad += batch.bad;
  counts.lost += batch.lost.reduce((n, l) => n + l.lost, 0);
}

class RestartAsNew extends Error {}

/**
 * Input bytes that make another worker pay: each worker starts, warms up its JIT and learns the
 * line templates on its own, which costs more than it saves on smaller inputs (measured: a 215 MB
 * flow-log file ingests faster with one worker on two cores, a 330 MB one with two).
 */
const BYTES_PER_WORKER = 256 * 1024 * 1024;
/** Gzip shrinks flow files about tenfold; sizes of stdin are not known. */
const GZIP_RATIO = 10;

/** An input's size as known before reading it: stdin's and a pipe's are not; a missing input has none. */
function inputSize(input: string): { bytes: number; gzip: boolean } | "unknown" | undefined {
  if (input === "-") return "unknown";
  try {
    const st = statSync(input);
    return st.isFile() ? { bytes: st.size, gzip: input.endsWith(".gz") } : "unknown";
  } catch {
    // A missing input fails later with its own message.
    return undefined;
  }
}

/** One worker per `BYTES_PER_WORKER` of input, at most one per core and 4 in all. */
export function defaultWorkers(inputs: string[]): number {
  const cores = Math.min(4, Math.max(1, availableParallelism()));
  let bytes = 0;
  for (const input of inputs) {
    const size = inputSize(input);
    if (size === "unknown") return cores;
    if (size) bytes += size.gzip ? size.bytes * GZIP_RATIO : size.bytes;
  }
  return Math.min(cores, Math.max(1, Math.ceil(bytes / BYTES_PER_WORKER)));
}

/** Whether an input is parsed by workers: all but small plain files (and missing ones). */
function usesWorkers(input: string): boolean {
  const size = inputSize(input);
  return size === "unknown" || (size !== undefined && (size.gzip || size.bytes >= INLINE_BYTES));
}

/** Ingests every input in order. One input failing does not stop the others. */
export async function ingestInputs(options: IngestOptions): Promise<InputResult[]> {
  const results: InputResult[] = [];
  const workers = options.workers ?? defaultWorkers(options.inputs);
  let pool: ParsePool | undefined;
  const getPool = () => {
    if (workers > 0 && !pool) pool = new ParsePool(workers);
    return pool;
  };
  // A worker takes a tenth of a second to start: start it while the first input is opened and its
  // format detected, when some input will use it.
  if (options.inputs.some(usesWorkers)) getPool();
  try {
    for (const input of options.inputs) {
      results.push(await ingestOneWithRestart(input, options, getPool));
    }
  } finally {
    await pool?.close();
  }
  return results;
}

async function ingestOneWithRestart(
  input: string,
  options: IngestOptions,
  getPool: () => ParsePool | undefined,
): Promise<InputResult> {
  // What reached the store in committed transactions: a failed ingest reports exactly that.
  const stored = zeroCounts();
  try {
    return await ingestOne(input, options, getPool, true, stored);
  } catch (err) {
    if (err instanceof RestartAsNew) {
      return ingestOne(input, options, getPool, false, stored).catch((e) => failed(input, e, stored));
    }
    return failed(input, err, stored);
  }
}

function failed(input: string, err: unknown, stored: IngestCounts): InputResult {
  return { input, outcome: "failed", counts: stored, badLines: [], error: toFlowpolError(err) };
}

interface Head {
  buffers: Buffer[];
  /** The first HEAD_BYTES: the input's identity. */
  bytes: Buffer;
  /** What format detection reads: the head, or more until a line is complete. */
  detect: Buffer;
  rest: AsyncIterator<Buffer>;
}

async function readHead(stream: AsyncIterable<Buffer>): Promise<Head> {
  const iterator = stream[Symbol.asyncIterator]();
  const buffers: Buffer[] = [];
  let size = 0;
  let newline = false;
  // A first line longer than the head is read on (up to the line limit), so detection sees it whole.
  while (size < HEAD_BYTES || (!newline && size < DEFAULT_MAX_LINE_BYTES)) {
    const next = await iterator.next();
    if (next.done) break;
    buffers.push(next.value);
    size += next.value.length;
    newline ||= next.value.includes(10);
  }
  const detect = Buffer.concat(buffers, size);
  return { buffers, bytes: detect.subarray(0, Math.min(size, HEAD_BYTES)), detect, rest: iterator };
}

async function* replay(head: Head): AsyncGenerator<Buffer> {
  for (const b of head.buffers) yield b;
  for (;;) {
    const next = await head.rest.next();
    if (next.done) return;
    yield next.value;
  }
}

/** Mostly control bytes (NUL included): a stray NUL or two in a JSON file is a bad line, not binary. */
function looksBinary(head: Buffer): boolean {
  let control = 0;
  const sample = head.subarray(0, 4096);
  for (const byte of sample) if (byte < 9 || (byte > 13 && byte < 32)) control++;
  return sample.length > 0 && control / sample.length > 0.1;
}

function firstNonBlank(head: Buffer): number {
  for (let i = hasBom(head) ? 3 : 0; i < head.length; i++) {
    const c = head[i];
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return c as number;
  }
  return -1;
}

/** A UTF-8 byte order mark, which some Windows tools write: not part of line 1. */
function hasBom(head: Buffer): boolean {
  return head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
}

/** Detects the format from the first lines of the head, or explains why the input is not flows. */
function detectFromLines(name: string, head: Buffer): RecordFormat {
  const lines = head
    .toString("utf8", hasBom(head) ? 3 : 0)
    .split("\n")
    .slice(0, DETECT_LINES);
  let firstProblem: string | undefined;
  for (const [i, raw] of lines.entries()) {
    const text = (jsonText(raw) ?? "").trim();
    if (!text) continue;
    try {
      const value = JSON.parse(text);
      const format = detectFormat(value);
      if (format) return format;
      firstProblem ??= `line ${i + 1} is JSON but no known flow record`;
    } catch {
      if (i < lines.length - 1) firstProblem ??= `line ${i + 1} is not JSON`;
    }
  }
  throw new InputError(
    `${name} is not a flow file: none of its first ${DETECT_LINES} lines is a Hubble or Calico flow record (${firstProblem ?? "no complete line"})`,
    undefined,
    "give a file written by `hubble observe -o jsonpb`, the Hubble exporter, or Calico flow logs; or name the format with --format",
  );
}

async function ingestOne(
  input: string,
  options: IngestOptions,
  getPool: () => ParsePool | undefined,
  allowResume: boolean,
  stored: IngestCounts,
): Promise<InputResult> {
  const now = options.now ?? Date.now;
  const opened = await openInput(input, options.stdin);
  let file: FileHandle | undefined;
  let lease: Lease | undefined;
  try {
    const head = await readHead(opened.stream);
    if (head.bytes.length === 0) {
      return { input, outcome: "empty", counts: zeroCounts(), badLines: [] };
    }
    if (head.bytes.length >= 4 && head.bytes.readUInt32LE(0) === ZSTD_MAGIC) {
      throw new InputError(
        `${input} is zstd-compressed (Calico Enterprise compresses rotated flow logs with zstd)`,
        undefined,
        `decompress it first: zstd -dc ${input} | flowpol ingest -`,
      );
    }
    if (looksBinary(head.bytes)) {
      throw new InputError(
        `${input} is binary data, not a JSON flow file${opened.gzip ? " (after gunzip)" : ""}`,
        undefined,
        "give JSON lines from `hubble observe -o jsonpb`, the Hubble exporter or Calico flow logs",
      );
    }
    const first = firstNonBlank(head.bytes);
    const isArray = first === 0x5b; /* [ */
    if (isArray || (first === 0x7b /* { */ && isPrettyPrinted(head.bytes))) {
      return await ingestArray(input, head, options, now);
    }
    const format =
      options.format && options.format !== "auto" ? formatByName(options.format) : detectFromLines(input, head.detect);

    const store = options.store;
    const headHash = createHash("sha256").update(head.bytes).digest("hex");
    const isFile = input !== "-";
    const fullPath = isFile ? resolvePath(input) : "-";
    const singleTransaction = !isFile || options.strict === true;
    lease = await store.acquireLeases(
      isFile ? [`input-content:${headHash}`, `input-path:${fullPath}`] : [`input-content:${headHash}`],
      isFile ? `the input ${input}` : "the same content on stdin",
      "wait for that run to finish and run this again: it resumes, storing only what that run did not",
    );
    const held = lease;

    let prior: IngestRow | undefined;
    if (isFile && allowResume && !options.strict) {
      prior = (await store.findPriorIngests(headHash, fullPath)).find(
        (row) => opened.totalBytes === undefined || opened.gzip || row.bytes_done <= opened.totalBytes,
      );
    }
    const hash = createHash("sha256");
    // A regular file is read again from its start, straight into the chunk buffers.
    let source: ByteSource;
    let rawBytesRead = opened.rawBytesRead;
    if (opened.regularFile && !opened.gzip) {
      file = await open(input, "r");
      let read = 0;
      source = fileSource(file, 0, (n) => {
        read += n;
      });
      rawBytesRead = () => read;
    } else {
      source = streamSource(replay(head));
    }
    let startOffset = 0;
    let startLine = 1;
    if (prior) {
      await skipVerified(source, prior.bytes_done, prior.content_hash, hash);
      startOffset = prior.bytes_done;
      startLine = prior.lines_done + 1;
    }

    const row = {
      source_system: format.system,
      kind: isFile ? ("file" as const) : ("stdin" as const),
      path: fullPath,
      format: format.name,
      head_hash: headHash,
    };
    const startedAt = now();
    // A whole input (stdin, --strict) is stored at its end, in one piece; the others batch by batch.
    const wholeBatches: Batch[] = [];
    const ingestId = singleTransaction
      ? undefined
      : await store.beginIngest(prior ? { resume: prior, headHash, path: fullPath } : { row }, held);

    const small = opened.totalBytes !== undefined && opened.totalBytes < INLINE_BYTES && !opened.gzip;
    const pool = small ? undefined : getPool();
    const counts = zeroCounts();
    const badLines: Array<{ line: number; reason: string }> = [];
    const overlong: Array<{ line: number; reason: string }> = [];
    let heldLine: number | undefined;
    const heldNote = () => ({
      ...(heldLine === undefined ? {} : { heldLine }),
      ...(duplicates > 0 ? { duplicates } : {}),
    });
    const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const chunks = lineChunks(source, {
      chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      maxLineBytes,
      startOffset,
      startLine,
      onOverlongLine: ({ line, bytes }) =>
        overlong.push({ line, reason: `the line is ${bytes} bytes, longer than the ${maxLineBytes}-byte limit` }),
      // A file may still be written: its unfinished last line is left for the next ingest to resume at.
      ...(opened.regularFile &&
        !opened.gzip && {
          isWholeLine,
          onHeldLine: (h: { line: number }) => {
            heldLine = h.line;
          },
        }),
      ...(pool && { allocate: (size: number) => pool.buffers.take(size) }),
    });
    const decode = decoderFor(format, { defaultTime: options.defaultTime });
    const queue: Array<{ batch: Promise<Batch>; endOffset: number; endLine: number; digest: string }> = [];
    const maxQueue = Math.max(2, (pool?.size ?? 1) * 2);
    let newBytes = 0;

    // Batches from the workers are merged and written every FLUSH_BATCHES chunks, each flush in one
    // transaction with the ingest log's progress: the store is always at a chunk boundary. The store
    // takes out flows whose uuid and time it holds already (another input, or earlier in this one).
    const merger = new BatchMerger();
    let duplicates = 0;
    let flushedTo: { endOffset: number; endLine: number; digest: string } | undefined;
    const flush = async () => {
      if (merger.size === 0 || !flushedTo) return;
      const batch = merger.take();
      const mark = flushedTo;
      if (ingestId === undefined) {
        wholeBatches.push(batch);
        return;
      }
      const committed = await store.commitBatch({
        ingestId,
        lease: held,
        batch,
        system: format.system,
        progress: { bytesDone: mark.endOffset, linesDone: mark.endLine, contentHash: mark.digest },
      });
      duplicates += committed.duplicates;
      counts.flows -= batch.flows - committed.flows;
      counts.replies -= batch.replies - committed.replies;
      addCounts(stored, { ...batch, flows: committed.flows, replies: committed.replies });
    };

    const commit = async () => {
      const head = queue.shift();
      if (!head) return;
      const batch = await head.batch;
      if (overlong.length > 0) {
        for (const o of overlong.splice(0)) {
          batch.bad++;
          if (batch.badLines.length < 20) batch.badLines.push(o);
        }
      }
      if (options.strict && batch.bad > 0) {
        const first = batch.badLines[0];
        throw new InputError(
          first?.reason ?? "bad line",
          { file: input, line: first?.line ?? 0 },
          "fix or remove the line, or run without --strict to skip bad lines and ingest the rest",
        );
      }
      merger.add(batch);
      flushedTo = head;
      if (merger.size >= FLUSH_BATCHES) await flush();
      addCounts(counts, batch);
      for (const b of batch.badLines) if (badLines.length < SHOWN_BAD_LINES) badLines.push(b);
      options.onProgress?.({
        input,
        rawBytesRead: rawBytesRead(),
        totalBytes: opened.totalBytes,
        flows: counts.flows,
      });
    };

    try {
      for await (const chunk of chunks) {
        hash.update(chunk.bytes);
        newBytes += chunk.bytes.length;
        const digest = hash.copy().digest("hex");
        const endLine = chunk.startLine + chunk.lines - 1;
        const batch = pool
          ? pool.parse({
              seq: 0,
              bytes: chunk.bytes,
              startLine: chunk.startLine,
              format: format.name,
              defaultTime: options.defaultTime,
              cluster: options.cluster,
            })
          : Promise.resolve(parseChunk(chunk.bytes, chunk.startLine, format, decode, options.cluster));
        batch.catch(() => {});
        queue.push({ batch, endOffset: chunk.endOffset, endLine, digest });
        while (queue.length >= maxQueue) await commit();
      }
      while (queue.length > 0) await commit();
      await flush();
      if (overlong.length > 0) {
        const tail: Batch = new BatchBuilder().build();
        queue.push({
          batch: Promise.resolve(tail),
          endOffset: startOffset + newBytes,
          endLine: startLine,
          digest: hash.copy().digest("hex"),
        });
        await commit();
        await flush();
      }
    } catch (err) {
      if (ingestId !== undefined) await store.finishIngest(ingestId, "failed");
      throw err;
    }

    const contentHash = hash.digest("hex");
    if (ingestId === undefined) {
      if (!isFile && (await store.findCompleteByContent(contentHash))) {
        return { input, outcome: "already-ingested", format: format.name, counts: zeroCounts(), badLines: [] };
      }
      const mark = flushedTo ?? { endOffset: 0, endLine: 0, digest: "" };
      const whole = await store.storeWholeInput({
        row,
        startedAt,
        batches: wholeBatches,
        system: format.system,
        progress: { bytesDone: mark.endOffset, linesDone: mark.endLine, contentHash: mark.digest },
        format: format.name,
      });
      duplicates += whole.duplicates;
      counts.flows = whole.flows;
      counts.replies = whole.replies;
      return { input, outcome: "ingested", format: format.name, counts, badLines, ...heldNote() };
    }
    if (prior && newBytes === 0 && prior.status === "complete") {
      await store.finishIngest(ingestId, "complete", { at: prior.finished_at ?? now() });
      return { input, outcome: "already-ingested", format: format.name, counts, badLines, ...heldNote() };
    }
    await store.finishIngest(ingestId, "complete", { format: format.name });
    return { input, outcome: prior ? "resumed" : "ingested", format: format.name, counts, badLines, ...heldNote() };
  } finally {
    // A lease left behind by a failed release is taken over: its process is checked on the next run.
    if (lease) await options.store.releaseLease(lease);
    opened.close();
    await file?.close();
  }
}

/**
 * Whether an unterminated last line is whole: anything but the beginning of a JSON object that
 * does not parse yet (a record still being written). Other text is whole, and a bad line if so.
 */
function isWholeLine(line: Buffer): boolean {
  const text = jsonText(line.toString("utf8").trim());
  if (!text?.startsWith("{")) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the part of an input that an earlier ingest already stored, and checks it is the same
 * content (its SHA-256 must match). On a mismatch, or an input now shorter than that part, the
 * input is ingested from the start as new.
 */
async function skipVerified(source: ByteSource, skipBytes: number, expectedHash: string, hash: Hash): Promise<void> {
  if (skipBytes === 0) return;
  const scratch = Buffer.allocUnsafe(Math.min(skipBytes, 1024 * 1024));
  let remaining = skipBytes;
  while (remaining > 0) {
    const read = await source.read(scratch.subarray(0, Math.min(remaining, scratch.length)), 0);
    if (read === 0) throw new RestartAsNew();
    hash.update(scratch.subarray(0, read));
    remaining -= read;
  }
  if (hash.copy().digest("hex") !== expectedHash) throw new RestartAsNew();
}

/**
 * Whether the input is one JSON document spread over lines (`curl ... | jq .` of a Whisker
 * answer) rather than JSON lines: its first line opens an object that it does not close.
 */
function isPrettyPrinted(head: Buffer): boolean {
  const text = head.toString("utf8").trimStart();
  const newline = text.indexOf("\n");
  return newline !== -1 && text.slice(0, newline).trim() === "{";
}

/**
 * A JSON array of flows (hand-made fixtures, `jq -s`, UI downloads), or one pretty-printed JSON
 * document (a Whisker list answer): parsed whole.
 */
async function ingestArray(input: string, head: Head, options: IngestOptions, now: () => number): Promise<InputResult> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const b of replay(head)) {
    size += b.length;
    if (size > MAX_ARRAY_BYTES) {
      throw new InputError(
        `${input} is a JSON array larger than 1 GiB`,
        undefined,
        "convert it to JSON lines (`jq -c '.[]' FILE`) and ingest that",
      );
    }
    parts.push(b);
  }
  const content = Buffer.concat(parts, size);
  const text = content.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(
      `${input} is neither JSON lines nor a valid JSON document (${(err as Error).message})`,
      undefined,
      "fix the JSON, or give JSON lines (one record per line)",
    );
  }
  const items = Array.isArray(value) ? value : [value];
  const format =
    options.format && options.format !== "auto"
      ? formatByName(options.format)
      : items.map((v) => detectFormat(v)).find((f) => f !== undefined);
  if (!format) {
    throw new InputError(
      `${input} is a JSON array, but none of its elements is a Hubble or Calico flow record`,
      undefined,
      "give flow records, or name the format with --format",
    );
  }
  const contentHash = createHash("sha256").update(content).digest("hex");
  const store = options.store;
  if (await store.findCompleteByContent(contentHash)) {
    return { input, outcome: "already-ingested", format: format.name, counts: zeroCounts(), badLines: [] };
  }
  const builder = new BatchBuilder(options.cluster);
  const decode = decoderFor(format, { defaultTime: options.defaultTime });
  const lines = arrayElementLines(text);
  /** The element number of each kept bad line or note, in the order the batch keeps them. */
  const badElements: number[] = [];
  items.forEach((item, i) => {
    const before = builder.keptLines;
    addValue(item, lines[i] ?? 1, decode, builder);
    for (let n = builder.keptLines - before; n > 0; n--) badElements.push(i + 1);
  });
  const batch = builder.build();
  const elementReason = (b: { reason: string }, k: number) => `array element ${badElements[k]}: ${b.reason}`;
  if (options.strict && batch.bad > 0) {
    const first = batch.badLines[0];
    throw new InputError(
      first ? elementReason(first, 0) : "a bad array element",
      first ? { file: input, line: first.line } : { file: input },
      "fix or remove the element",
    );
  }
  const isFile = input !== "-";
  const stored = await store.storeWholeInput({
    row: {
      source_system: format.system,
      kind: isFile ? "file" : "stdin",
      path: isFile ? resolvePath(input) : "-",
      format: `${format.name}-array`,
      head_hash: createHash("sha256").update(head.bytes).digest("hex"),
    },
    startedAt: now(),
    batches: [batch],
    system: format.system,
    progress: { bytesDone: size, linesDone: items.length, contentHash },
  });
  const counts = zeroCounts();
  addCounts(counts, batch);
  counts.flows = stored.flows;
  counts.replies = stored.replies;
  const duplicates = stored.duplicates;
  return {
    input,
    outcome: "ingested",
    format: format.name,
    counts,
    badLines: batch.badLines.slice(0, SHOWN_BAD_LINES).map((b, k) => ({ line: b.line, reason: elementReason(b, k) })),
    ...(duplicates > 0 ? { duplicates } : {}),
  };
}
