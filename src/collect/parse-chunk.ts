import { isUtf8 } from "node:buffer";
import { type Batch, BatchBuilder } from "./aggregate.js";
import type { RecordFormat } from "./record.js";

/**
 * Parses a chunk of complete JSON lines into a pre-aggregated batch. Pure apart from CPU: this is
 * what the ingest workers run. Line numbers in bad-line reports are relative to `startLine`.
 */
export function parseChunk(bytes: Uint8Array, startLine: number, format: RecordFormat): Batch {
  const builder = new BatchBuilder();
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const valid = isUtf8(buf);
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
        parseLine(buf.toString("utf8", start, stop), line, format, builder);
      }
    }
    line++;
    start = end + 1;
  }
  return builder.build();
}

export function parseLine(line0: string, line: number, format: RecordFormat, builder: BatchBuilder): void {
  const text = jsonText(line0);
  if (text === undefined || isBlank(text)) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    builder.addBad(line, describeJsonError(text, err));
    return;
  }
  addValue(value, line, format, builder);
}

/** Adds one parsed value: a record, or an array of records. */
export function addValue(value: unknown, line: number, format: RecordFormat, builder: BatchBuilder): void {
  if (Array.isArray(value)) {
    for (const item of value) addValue(item, line, format, builder);
    return;
  }
  const items = format.items?.(value);
  if (items) {
    for (const item of items) addRecord(item, line, format, builder);
    return;
  }
  addRecord(value, line, format, builder);
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

function addRecord(value: unknown, line: number, format: RecordFormat, builder: BatchBuilder): void {
  const record = format.toRecord(value);
  switch (record.kind) {
    case "flow":
      builder.addFlow(record.flow);
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
