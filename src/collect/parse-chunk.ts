import { isAscii, isUtf8 } from "node:buffer";
import type { Batch } from "../model/batch.js";
import type { Flow } from "../model/flow.js";
import { BatchBuilder } from "./batch-builder.js";
import { MAX_DEPTH, nestedDeeperThan } from "./fast/json-scan.js";
import { decoderFor, type RecordDecoder, type RecordFormat, type RepeatedFlow, type SourceRecord } from "./record.js";

/**
 * Parses a chunk of complete JSON lines into a pre-aggregated batch. Pure apart from CPU: this is
 * what the ingest workers run. Line numbers in bad-line reports are relative to `startLine`.
 */
export function parseChunk(
  bytes: Uint8Array,
  startLine: number,
  format: RecordFormat,
  decode: RecordDecoder = decoderFor(format),
  cluster?: string,
): Batch {
  const builder = new BatchBuilder(cluster);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Flow files are almost always ASCII, which decodes faster as latin1 (the same characters).
  if (isAscii(buf)) {
    parsePieces(buf, "latin1", startLine, decode, builder);
    return builder.build();
  }
  const valid = isUtf8(buf);
  if (valid) {
    parsePieces(buf, "utf8", startLine, decode, builder);
    return builder.build();
  }
  let line = startLine;
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(10, start);
    if (end === -1) end = buf.length;
    let stop = end;
    if (stop > start && buf[stop - 1] === 13) stop--;
    if (stop > start) {
      if (!valid && !isUtf8(buf.subarray(start, stop))) {
        builder.addBad(line, "the line is not valid UTF-8");
      } else {
        parseLine(buf.toString("utf8", start, stop), line, decode, builder);
      }
    }
    line++;
    start = end + 1;
  }
  return builder.build();
}

/**
 * Text is decoded in pieces of whole lines of about this size: V8 keeps strings over about 1 MiB
 * outside its heap, which are slower to create and to read, and weigh on garbage collection.
 */
const PIECE_BYTES = 64 * 1024;

function parsePieces(
  buf: Buffer,
  encoding: "latin1" | "utf8",
  startLine: number,
  decode: RecordDecoder,
  builder: BatchBuilder,
): void {
  let line = startLine;
  let start = 0;
  while (start < buf.length) {
    let end = buf.length;
    if (start + PIECE_BYTES < buf.length) {
      const newline = buf.lastIndexOf(10, start + PIECE_BYTES);
      const longLineEnd = newline < start ? buf.indexOf(10, start + PIECE_BYTES) : newline;
      if (longLineEnd !== -1) end = longLineEnd + 1;
    }
    line = parseText(buf.toString(encoding, start, end), line, decode, builder);
    start = end;
  }
}

/** Parses the lines of `text`; returns the number of the line after them. */
function parseText(text: string, startLine: number, decode: RecordDecoder, builder: BatchBuilder): number {
  let line = startLine;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    if (stop > start) parseLine(text.slice(start, stop), line, decode, builder);
    line++;
    start = end + 1;
  }
  return line;
}

export function parseLine(text0: string, line: number, decode: RecordDecoder, builder: BatchBuilder): void {
  // A UTF-8 byte order mark (only ever at the start of a file) is not part of the record.
  const line0 = text0.charCodeAt(0) === 0xfeff ? text0.slice(1) : text0;
  const fast = decode.decodeLine?.(line0);
  if (fast) {
    addDecoded(fast, line, builder);
    return;
  }
  const text = jsonText(line0);
  if (text === undefined || isBlank(text)) return;
  if (nestedDeeperThan(text, MAX_DEPTH)) {
    builder.addBad(line, `the line nests JSON more than ${MAX_DEPTH} levels deep: not a flow record`);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    builder.addBad(line, describeJsonError(text, err));
    return;
  }
  addValue(value, line, decode, builder);
}

/** Adds one parsed value: a record, or an array of records (arrays inside it are bad lines). */
export function addValue(value: unknown, line: number, decode: RecordDecoder, builder: BatchBuilder): void {
  if (!Array.isArray(value)) {
    addOne(value, line, decode, builder);
    return;
  }
  for (const item of value) {
    if (Array.isArray(item)) builder.addBad(line, "an array inside an array is not a flow record");
    else addOne(item, line, decode, builder);
  }
}

function addOne(value: unknown, line: number, decode: RecordDecoder, builder: BatchBuilder): void {
  const items = decode.items?.(value);
  if (items) {
    for (const item of items) addRecord(item, line, decode, builder);
    return;
  }
  addRecord(value, line, decode, builder);
}

/**
 * The JSON part of a line. Saved Server-Sent Events streams (Whisker `watch=true`) carry records
 * as `data: {...}` lines between `event:`, `id:`, `retry:` and `:` comment lines, which hold none.
 */
export function jsonText(text: string): string | undefined {
  const c = text.charCodeAt(0);
  // d, e, i, r, ":"
  if (c !== 100 && c !== 101 && c !== 105 && c !== 114 && c !== 58) return text;
  if (text.startsWith("data:")) return text.slice(5);
  if (c === 58 || /^(event|id|retry):/.test(text)) return undefined;
  return text;
}

function addRecord(value: unknown, line: number, decode: RecordDecoder, builder: BatchBuilder): void {
  addDecoded(decode.decode(value), line, builder);
}

function addDecoded(record: SourceRecord | RepeatedFlow, line: number, builder: BatchBuilder): void {
  switch (record.kind) {
    case "repeat":
      builder.addRepeat(record.flow, record.time, record.count, record.uuid);
      reportDroppedLabels(record.flow, line, builder);
      return;
    case "flow":
      builder.addFlow(record.flow);
      reportDroppedLabels(record.flow, line, builder);
      return;
    case "lost":
      builder.addLost(record.lost);
      return;
    case "skip":
      builder.addSkipped();
      return;
    case "bad":
      builder.addBad(line, record.reason);
      return;
  }
}

/** Labels left out of a kept flow are reported on its line (not counted as a bad line). */
export function reportDroppedLabels(flow: Flow, line: number, builder: BatchBuilder): void {
  const { source, destination } = flow;
  if (source.droppedLabels !== undefined) builder.addNote(line, `source: ${source.droppedLabels}`);
  if (destination.droppedLabels !== undefined) builder.addNote(line, `destination: ${destination.droppedLabels}`);
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) return false;
  }
  return true;
}

function describeJsonError(text: string, err: unknown): string {
  const trimmed = text.trimEnd();
  if (trimmed.startsWith("{") && !trimmed.endsWith("}")) return "the line is truncated (incomplete JSON object)";
  if (hasControlCharacters(text)) return "the line contains binary data, not JSON";
  const message = err instanceof Error ? err.message : String(err);
  return `the line is not valid JSON (${message.slice(0, 120)})`;
}

function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 9 || (c > 13 && c < 32)) return true;
  }
  return false;
}
