import { asObject } from "../calico/json.js";
import type { DecodeOptions, RecordDecoder, RecordFormat, SourceRecord } from "../record.js";
import { GoldmaneEndpoints, goldmaneFlowToModel, goldmaneKey } from "./flow.js";

/**
 * Goldmane flows saved as JSON lines: protobuf-JSON (`grpcurl`, exporters), also wrapped as
 * `{"id": ..., "flow": {...}}` (a `FlowResult`, as `grpcurl ... goldmane.Flows/Stream` prints
 * it), and the Goldmane emitter's NDJSON (snake_case keys, enums as numbers).
 */
function unwrapFlow(value: unknown) {
  const obj = asObject(value);
  if (!obj) return undefined;
  if (goldmaneKey(obj)) return obj;
  const inner = asObject(obj.flow);
  return inner && goldmaneKey(inner) ? inner : undefined;
}

export function goldmaneRecordFromJson(
  value: unknown,
  options: DecodeOptions = {},
  endpoints?: GoldmaneEndpoints,
): SourceRecord {
  const flow = unwrapFlow(value);
  if (!flow) return { kind: "bad", reason: "the object is not a Goldmane flow (no `Key`)" };
  const result = goldmaneFlowToModel(flow, options.defaultTime, endpoints);
  return typeof result === "string" ? { kind: "bad", reason: result } : { kind: "flow", flow: result };
}

/** A decoder that keeps converted endpoints across records (`GoldmaneEndpoints`). */
class GoldmaneDecoder implements RecordDecoder {
  private readonly endpoints = new GoldmaneEndpoints();

  constructor(private readonly options: DecodeOptions) {}

  decode(value: unknown): SourceRecord {
    return goldmaneRecordFromJson(value, this.options, this.endpoints);
  }
}

export const goldmaneJsonFormat: RecordFormat = {
  name: "goldmane",
  system: "calico",
  detect: (obj) => unwrapFlow(obj) !== undefined,
  toRecord: goldmaneRecordFromJson,
  createDecoder: (options) => new GoldmaneDecoder(options ?? {}),
};
