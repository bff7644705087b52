import { UsageError } from "../errors.js";
import { calicoFlowLogFormat } from "./calico/flow-log-format.js";
import { goldmaneJsonFormat } from "./goldmane/json-format.js";
import { whiskerFormat } from "./goldmane/whisker-format.js";
import { hubbleFormat } from "./hubble/json-flow.js";
import type { RecordFormat } from "./record.js";

/**
 * Every file format `flowpol ingest` reads, in detection order. A format is detected from the
 * first record that parses; `--format NAME` skips detection. Goldmane comes before Hubble: a
 * `FlowResult` (`{"id", "flow": {"Key": ...}}`) also has a `flow` field.
 */
export const FORMATS: readonly RecordFormat[] = [calicoFlowLogFormat, goldmaneJsonFormat, whiskerFormat, hubbleFormat];

export const FORMAT_NAMES = FORMATS.map((f) => f.name);

export function formatByName(name: string): RecordFormat {
  const format = FORMATS.find((f) => f.name === name);
  if (!format) {
    throw new UsageError(`unknown --format ${JSON.stringify(name)}`, `use one of: auto, ${FORMAT_NAMES.join(", ")}`);
  }
  return format;
}

/** The format whose detector accepts this parsed record, if any. */
export function detectFormat(value: unknown): RecordFormat | undefined {
  const obj = unwrap(value);
  if (!obj) return undefined;
  return FORMATS.find((f) => f.detect(obj));
}

function unwrap(value: unknown): Record<string, unknown> | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === null || typeof first !== "object" || Array.isArray(first)) return undefined;
  const obj = first as Record<string, unknown>;
  const wrapped = obj.log ?? obj.message;
  if (typeof wrapped === "string" && obj.flow === undefined) {
    try {
      const inner = JSON.parse(wrapped);
      if (inner !== null && typeof inner === "object" && !Array.isArray(inner)) return inner;
    } catch {
      return obj;
    }
  }
  return obj;
}
