import { connectionCount } from "../calico/flow-log.js";
import { asObject, field } from "../calico/json.js";
import { topLevelMembers } from "../fast/json-scan.js";
import { type RecordMembers, RecordTemplates } from "../fast/record-templates.js";
import type { DecodeOptions, RecordDecoder, RecordFormat, RepeatedFlow, SourceRecord } from "../record.js";
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

/**
 * The members a Goldmane record is converted from (`goldmaneFlowToModel`), in both spellings (the
 * first present is read): the rest (`endTime`, packet and byte counters) it does not read.
 */
const GOLDMANE_MEMBERS: RecordMembers = {
  time: ["start_time", "startTime"],
  timeFallback: new Set(),
  counts: [
    ["num_connections_live", "numConnectionsLive"],
    ["num_connections_started", "numConnectionsStarted"],
  ],
  bounded: new Map(),
  read: new Set(["Key", "key", "source_labels", "sourceLabels", "dest_labels", "destLabels", "flow"]),
  countWithout: (flow, holes) => {
    const count = (snake: string, camel: string) =>
      holes.has(snake) || holes.has(camel) ? undefined : field(flow, snake, camel);
    return connectionCount(
      count("num_connections_live", "numConnectionsLive"),
      count("num_connections_started", "numConnectionsStarted"),
    );
  },
};

const MAX_TEMPLATE_STEPS = 200_000;

/**
 * A decoder that keeps converted endpoints across records (`GoldmaneEndpoints`) and recognises
 * records it has read before apart from their times and counters (`RecordTemplates`): a Goldmane
 * record is one connection pair's 15 seconds, and the same pairs come back every window.
 * Records inside a `FlowResult` (`{"id": ..., "flow": {...}}`) are not learned.
 */
class GoldmaneDecoder implements RecordDecoder {
  private readonly endpoints = new GoldmaneEndpoints();
  private readonly templates = new RecordTemplates(GOLDMANE_MEMBERS, MAX_TEMPLATE_STEPS);

  constructor(private readonly options: DecodeOptions) {}

  decode(value: unknown): SourceRecord {
    return goldmaneRecordFromJson(value, this.options, this.endpoints);
  }

  decodeLine(text: string): SourceRecord | RepeatedFlow | undefined {
    const found = this.templates.match(text);
    if (found?.kind !== "parsed") return found;
    const value = found.value;
    const record = this.decode(value);
    const obj = asObject(value);
    if (record.kind !== "flow" || !obj || !goldmaneKey(obj) || !this.templates.learns()) return record;
    const members = topLevelMembers(text);
    if (members) this.templates.learn(text, obj, members, record.flow);
    return record;
  }
}

export const goldmaneJsonFormat: RecordFormat = {
  name: "goldmane",
  system: "calico",
  detect: (obj) => unwrapFlow(obj) !== undefined,
  toRecord: goldmaneRecordFromJson,
  createDecoder: (options) => new GoldmaneDecoder(options ?? {}),
};
