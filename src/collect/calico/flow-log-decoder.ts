import type { Flow } from "../../model/flow.js";
import { BoundedMap } from "../fast/bounded-map.js";
import { type JsonMember, topLevelMembers } from "../fast/json-scan.js";
import { type Hole, type HoleSpec, LineTemplates } from "../fast/line-templates.js";
import { RepeatGate } from "../fast/repeat-gate.js";
import { valueKey } from "../fast/value-key.js";
import type { DecodeOptions, RecordDecoder, RepeatedFlow, SourceRecord } from "../record.js";
import { calicoRecordFromJson, connectionCount, type FlowLogParts, flowLogEndpoint } from "./flow-log.js";
import { asObject, type Json } from "./json.js";
import { flowLogPolicies } from "./policies.js";

/**
 * The fast path for flow-log lines. Flow logs repeat themselves: a line differs from an earlier
 * one of the same connection pair mostly in its times, counters and source port. So each line
 * that goes through `JSON.parse` is learned as a template (`LineTemplates`) whose holes are those
 * integers, and a later line that fits a template is the learned record with its own window start
 * and connection count, found without parsing or converting anything.
 *
 * Integers the conversion reads (ports, numeric protocols) stay in the template's text, except the
 * ones it takes per record: `start_time`, the two counts, and `source_port`, which the aggregation
 * does not use (it is only checked to be a port). Lines that fit no template (new pairs, another
 * field order, spaces, bad lines) take the general path, whose results and messages are the same.
 */

const TIME = 0;
const FLOWS = 1;
const STARTED = 2;
const ANY = Number.MAX_SAFE_INTEGER;

const PER_RECORD = new Map<string, HoleSpec>([
  ["start_time", { slot: TIME, max: ANY }],
  ["num_flows", { slot: FLOWS, max: ANY }],
  ["num_flows_started", { slot: STARTED, max: ANY }],
  ["source_port", { slot: -1, max: 65535 }],
]);
const UNREAD: HoleSpec = { slot: -1, max: ANY };

/** What the conversion reads besides the per-record integers (calicoRecordFromJson). */
const READ_KEYS = new Set([
  ...["ip", "name", "name_aggr", "namespace", "type", "labels"].flatMap((f) => [`source_${f}`, `dest_${f}`]),
  "dest_domains",
  "dest_service_name",
  "dest_service_namespace",
  "dest_port",
  "proto",
  "action",
  "reporter",
  "policies",
  "host",
  "_source",
  "log",
  "message",
]);
/** Read only when `start_time` is not a number. */
const TIME_FALLBACK_KEYS = new Set(["end_time", "@timestamp"]);
/** Records inside an envelope are converted from the envelope's contents: not learned. */
const ENVELOPE_KEYS = ["_source", "log", "message"];

/** The members each side's endpoint is converted from. */
const ENDPOINT_KEYS = {
  source: ["source_type", "source_name", "source_name_aggr", "source_namespace", "source_ip", "source_labels"],
  dest: [
    ...["dest_type", "dest_name", "dest_name_aggr", "dest_namespace", "dest_ip", "dest_labels"],
    ...["dest_domains", "dest_service_namespace", "dest_service_name"],
  ],
};
const CONVERTED_KEYS = new Set([...ENDPOINT_KEYS.source, ...ENDPOINT_KEYS.dest, "policies"]);
/** Stands for a member the line does not have. */
const ABSENT = "\u0001";

const MAX_TEMPLATE_STEPS = 200_000;
const MAX_PARTS = 20_000;

interface Template {
  flow: Flow;
  /** The learned record's time and count, for templates where those are not holes. */
  time: number;
  count: number;
}

export class CalicoFlowLogDecoder implements RecordDecoder {
  private readonly templates = new LineTemplates<Template>(MAX_TEMPLATE_STEPS);
  /** Converted endpoints and policy traces by their members' JSON text, shared between templates. */
  private readonly endpoints = new BoundedMap<string, ReturnType<typeof flowLogEndpoint>>(MAX_PARTS);
  private readonly policyLists = new BoundedMap<string, string[]>(MAX_PARTS);
  /**
   * Converted endpoints of records the templates did not read, by the parsed values they come
   * from: on traffic that does not repeat line for line (a new port, a new count) the same pod
   * still sends the same endpoint fields.
   */
  private readonly parsedEndpoints = new BoundedMap<string, ReturnType<typeof flowLogEndpoint>>(MAX_PARTS);
  private readonly parsedParts: FlowLogParts = {
    endpoint: (obj, side) => {
      const key = parsedEndpointKey(obj, side);
      const convert = () => flowLogEndpoint(obj, side);
      return key === undefined ? convert() : this.parsedEndpoints.getOrMake(key, convert);
    },
    policies: (obj) => flowLogPolicies(obj.policies),
  };
  private readonly values = [0, 0, 0];
  private readonly gate = new RepeatGate();
  private readonly defaultTime: number | undefined;

  constructor(options: DecodeOptions = {}) {
    this.defaultTime = options.defaultTime;
  }

  decode(value: unknown): SourceRecord {
    return calicoRecordFromJson(value, this.parsedParts, this.defaultTime);
  }

  decodeLine(text: string): SourceRecord | RepeatedFlow | undefined {
    if (text.charCodeAt(0) !== 123 /* { */ || !this.gate.tries()) return undefined;
    const values = this.values;
    values[TIME] = -1;
    values[FLOWS] = 0;
    values[STARTED] = 0;
    const template = this.templates.match(text, values);
    if (template) {
      this.gate.hit();
      const start = values[TIME] as number;
      const count = Math.max(template.count, values[FLOWS] as number, values[STARTED] as number);
      return { kind: "repeat", flow: template.flow, time: start >= 0 ? start * 1000 : template.time, count };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    const obj = asObject(value);
    const learns = obj !== undefined && this.gate.learns() && !ENVELOPE_KEYS.some((k) => k in obj);
    const members = learns ? topLevelMembers(text) : undefined;
    if (!obj || !members) return calicoRecordFromJson(value, this.parsedParts, this.defaultTime);
    const record = calicoRecordFromJson(obj, this.cachedParts(text, members), this.defaultTime);
    if (record.kind === "flow") this.learn(text, obj, members, record.flow);
    return record;
  }

  /** Conversion through the caches, keyed by the members' text in this line. */
  private cachedParts(text: string, members: readonly JsonMember[]): FlowLogParts {
    const raw = new Map<string, string>();
    for (const m of members) if (CONVERTED_KEYS.has(m.key)) raw.set(m.key, text.slice(m.start, m.end));
    const rawOf = (keys: readonly string[]) => keys.map((k) => raw.get(k) ?? ABSENT).join("\u0000");
    return {
      endpoint: (obj: Json, side: "source" | "dest") =>
        this.endpoints.getOrMake(`${side}\u0000${rawOf(ENDPOINT_KEYS[side])}`, () => flowLogEndpoint(obj, side)),
      policies: (obj: Json) =>
        this.policyLists.getOrMake(raw.get("policies") ?? ABSENT, () => flowLogPolicies(obj.policies)),
    };
  }

  private learn(text: string, obj: Json, members: readonly JsonMember[], flow: Flow): void {
    const startIsHole = members.some((m) => m.key === "start_time" && m.isInteger);
    const holes: Hole[] = [];
    const counts: Record<string, unknown> = { num_flows: obj.num_flows, num_flows_started: obj.num_flows_started };
    // Where the last member the record depends on (other than through a hole) ends: the template's
    // value is fixed at the first hole after it, and the rest of the line is a shared tail.
    let fixedUntil = 0;
    for (const m of members) {
      const timeFallback = TIME_FALLBACK_KEYS.has(m.key) && !startIsHole;
      const spec = !m.isInteger
        ? undefined
        : (PER_RECORD.get(m.key) ?? (READ_KEYS.has(m.key) || timeFallback ? undefined : UNREAD));
      if (spec) {
        holes.push({ slot: spec.slot, max: spec.max, start: m.start, end: m.end });
        if (spec.slot === FLOWS || spec.slot === STARTED) counts[m.key] = undefined;
      } else if (READ_KEYS.has(m.key) || PER_RECORD.has(m.key) || timeFallback) fixedUntil = m.end;
    }
    const valueAfter = holes.findIndex((h) => h.start > fixedUntil);
    // The flow keeps the learned line's source port and node, which the aggregation does not read.
    const count = connectionCount(counts.num_flows, counts.num_flows_started);
    this.templates.learn(text, holes, { flow, time: flow.time, count }, valueAfter === -1 ? undefined : valueAfter);
  }
}

/** The key of one side's endpoint fields (`valueKey`); undefined when they cannot have one. */
function parsedEndpointKey(obj: Json, side: "source" | "dest"): string | undefined {
  return valueKey([side, ...ENDPOINT_KEYS[side].map((k) => obj[k])]);
}
