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

/** One input format that flowpol reads from files: detection plus conversion of one record. */
export interface RecordFormat {
  readonly name: string;
  readonly system: SourceSystem;
  /** Whether a parsed JSON object looks like a record of this format. */
  detect(value: Record<string, unknown>): boolean;
  /** For envelopes that hold several records (Whisker's `{"items": [...]}`): the records. */
  items?(value: unknown): unknown[] | undefined;
  toRecord(value: unknown): SourceRecord;
}
