import { BoundedMap } from "../fast/bounded-map.js";
import { type JsonMember, topLevelMembers } from "../fast/json-scan.js";
import { type RecordMembers, RecordTemplates } from "../fast/record-templates.js";
import { valueKey } from "../fast/value-key.js";
import type { DecodeOptions, RecordDecoder, RepeatedFlow, SourceRecord } from "../record.js";
import { calicoRecordFromJson, connectionCount, type FlowLogParts, flowLogEndpoint } from "./flow-log.js";
import { asObject, type Json } from "./json.js";
import { flowLogPolicies } from "./policies.js";

/**
 * The fast path for flow-log lines: record templates (`RecordTemplates`) whose holes are the
 * times, counters and source port. Integers the conversion reads (ports, numeric protocols) stay
 * in the template's text, except the ones it takes per record: `start_time`, the two counts, and
 * `source_port`, which the aggregation does not use (it is only checked to be a port). Lines that
 * fit no template (new pairs, another field order, spaces, bad lines) take the general path,
 * whose results and messages are the same.
 */

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
  "cluster",
  "_source",
  "log",
  "message",
]);
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

const FLOW_LOG_MEMBERS: RecordMembers = {
  time: ["start_time"],
  timeFallback: new Set(["end_time", "@timestamp"]),
  counts: [["num_flows"], ["num_flows_started"]],
  bounded: new Map([["source_port", 65535]]),
  read: READ_KEYS,
  countWithout: (obj, holes) =>
    connectionCount(
      holes.has("num_flows") ? undefined : obj.num_flows,
      holes.has("num_flows_started") ? undefined : obj.num_flows_started,
    ),
};

export class CalicoFlowLogDecoder implements RecordDecoder {
  private readonly templates = new RecordTemplates(FLOW_LOG_MEMBERS, MAX_TEMPLATE_STEPS);
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
  private readonly defaultTime: number | undefined;

  constructor(options: DecodeOptions = {}) {
    this.defaultTime = options.defaultTime;
  }

  decode(value: unknown): SourceRecord {
    return calicoRecordFromJson(value, this.parsedParts, this.defaultTime);
  }

  decodeLine(text: string): SourceRecord | RepeatedFlow | undefined {
    const found = this.templates.match(text);
    if (found?.kind !== "parsed") return found;
    const value = found.value;
    const obj = asObject(value);
    const learns = obj !== undefined && this.templates.learns() && !ENVELOPE_KEYS.some((k) => k in obj);
    const members = learns ? topLevelMembers(text) : undefined;
    if (!obj || !members) return calicoRecordFromJson(value, this.parsedParts, this.defaultTime);
    const record = calicoRecordFromJson(obj, this.cachedParts(text, members), this.defaultTime);
    if (record.kind === "flow") this.templates.learn(text, obj, members, record.flow);
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
}

/** The key of one side's endpoint fields (`valueKey`); undefined when they cannot have one. */
function parsedEndpointKey(obj: Json, side: "source" | "dest"): string | undefined {
  return valueKey([side, ...ENDPOINT_KEYS[side].map((k) => obj[k])]);
}
