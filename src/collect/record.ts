import type { Flow, SourceSystem } from "../model/flow.js";

/** A record-level gap in the data: Hubble `lost_events`, or similar. */
export interface LostEventsRecord {
  source: string;
  lost: number;
  node?: string;
  time?: number;
}

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
}

/** One input format that flowpol reads from files: detection plus conversion of one record. */
export interface RecordFormat {
  readonly name: string;
  readonly system: SourceSystem;
  /** Whether a parsed JSON object looks like a record of this format. */
  detect(value: Record<string, unknown>): boolean;
  /** For envelopes that hold several records (Whisker's `{"items": [...]}`): the records. */
  items?(value: unknown): unknown[] | undefined;
  toRecord(value: unknown): SourceRecord;
  /**
   * A stateful decoder for many records in a row (e.g. with caches); same results as toRecord.
   * Formats without one use toRecord.
   */
  createDecoder?(): RecordDecoder;
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

export function decoderFor(format: RecordFormat): RecordDecoder {
  if (format.createDecoder) return format.createDecoder();
  const decoder: RecordDecoder = { decode: (value) => format.toRecord(value) };
  if (format.items) decoder.items = format.items;
  return decoder;
}
