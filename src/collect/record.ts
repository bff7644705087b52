import type { LostEventsRecord } from "../model/batch.js";
import type { Flow, SourceSystem } from "../model/flow.js";

/** What one input record (one JSON line or array element) turned out to be. */
export type SourceRecord =
  | { kind: "flow"; flow: Flow }
  | { kind: "lost"; lost: LostEventsRecord }
  | { kind: "skip"; what: string }
  | { kind: "bad"; reason: string };

/**
 * A record a decoder recognised as one it decoded before, apart from its time and connection count
 * (and fields the aggregation does not read): aggregated as `{ ...flow, time, count }`.
 */
export interface RepeatedFlow {
  kind: "repeat";
  flow: Flow;
  time: number;
  count: number;
  /** The record's uuid, which the template's flow does not hold. */
  uuid?: string;
}

/** What a user can say about every record of an input. */
export interface DecodeOptions {
  /**
   * The time (ms) given to records that carry none at all (`--default-time`). A record whose time
   * is present but not a time stays a bad line.
   */
  defaultTime?: number | undefined;
}

/** One input format that flowpol reads from files: detection plus conversion of one record. */
export interface RecordFormat {
  readonly name: string;
  readonly system: SourceSystem;
  /** Whether a parsed JSON object looks like a record of this format. */
  detect(value: Record<string, unknown>): boolean;
  /** For envelopes that hold several records (Whisker's `{"items": [...]}`): the records. */
  items?(value: unknown): unknown[] | undefined;
  toRecord(value: unknown, options?: DecodeOptions): SourceRecord;
  /**
   * A stateful decoder for many records in a row (e.g. with caches); same results as toRecord.
   * Formats without one use toRecord.
   */
  createDecoder?(options?: DecodeOptions): RecordDecoder;
}

export interface RecordDecoder {
  decode(value: unknown): SourceRecord;
  /** For envelopes that hold several records (Whisker's `{"items": [...]}`): the records. */
  items?(value: unknown): unknown[] | undefined;
  /**
   * Optional fast path from the raw line text. Returns undefined when the line needs the general
   * path (JSON.parse, then decode), which also produces the error messages.
   */
  decodeLine?(text: string): SourceRecord | RepeatedFlow | undefined;
}

export function decoderFor(format: RecordFormat, options: DecodeOptions = {}): RecordDecoder {
  if (format.createDecoder) return format.createDecoder(options);
  const decoder: RecordDecoder = { decode: (value) => format.toRecord(value, options) };
  if (format.items) decoder.items = format.items;
  return decoder;
}

/** The report for labels left out of a kept flow (the same words for every source). */
export function droppedLabelsReason(dropped: readonly string[]): string {
  return `label${dropped.length > 1 ? "s" : ""} ${dropped.join(", ")} not valid Kubernetes label syntax, left out (the flow is kept)`;
}
