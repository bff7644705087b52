import type { Flow, FlowEndpoint } from "../../model/flow.js";
import type { RecordDecoder, SourceRecord } from "../record.js";
import { calicoFlowLogToModel, calicoRecordFromJson, connectionCount, flowLogEndpoint } from "./flow-log.js";
import { asObject, type Json } from "./json.js";
import { parseCalicoLabels } from "./labels.js";
import { flowLogPolicies } from "./policies.js";

/**
 * The fast path for lines as Felix writes them (Go's json.Encoder: fixed field order, no spaces).
 * Flow logs repeat themselves: the same workloads, labels and policy traces in every window. So:
 *
 * - a line's identity (everything from `source_ip` up to the counters) is looked up in a cache
 *   of converted records; a hit only reads the window start and the connection counts;
 * - on a miss, the label lists, the policy trace and the counters' tail are cut out before
 *   `JSON.parse`, and converted through caches keyed by their raw text, so endpoints and label
 *   sets are shared between records (the aggregation memoizes on them).
 *
 * Anything unexpected (another field order, spaces, escapes) returns undefined: the general path
 * (`JSON.parse` then `decode`) handles it and gives the error messages. Same results either way.
 */

const START = '{"start_time":';
const END_TIME = ',"end_time":';
const SOURCE_IP = ',"source_ip":';
const COUNTERS = ',"bytes_in":';
const NUM_FLOWS = ',"num_flows":';
const NUM_FLOWS_STARTED = ',"num_flows_started":';
const HOST = ',"host":"';
const SOURCE_PORT = ',"source_port":';
const CUT_KEYS = [',"source_labels":', ',"dest_labels":', ',"policies":'] as const;
const MAX_IDENTITIES = 50_000;
const MAX_PARTS = 20_000;

/** The index just past the JSON value (object or null) that starts at `start`, or -1. */
function valueEnd(text: string, start: number): number {
  const c = text.charCodeAt(start);
  if (c === 110 /* n */) return text.startsWith("null", start) ? start + 4 : -1;
  if (c !== 123 /* { */) return -1;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 34 /* " */) {
      i++;
      while (i < text.length) {
        const s = text.charCodeAt(i);
        if (s === 92 /* \ */) i++;
        else if (s === 34) break;
        i++;
      }
    } else if (ch === 123) depth++;
    else if (ch === 125 /* } */ && --depth === 0) return i + 1;
  }
  return -1;
}

/** A non-negative integer written at `start`; NaN when there is none. */
function integerAt(text: string, start: number): number {
  let n = 0;
  let i = start;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return i === start ? Number.NaN : n;
}

function integerAfter(text: string, key: string, from: number): number | undefined {
  const at = text.indexOf(key, from);
  if (at === -1) return undefined;
  const n = integerAt(text, at + key.length);
  return Number.isNaN(n) ? undefined : n;
}

function bounded<K, V>(map: Map<K, V>, limit: number): Map<K, V> {
  if (map.size >= limit) map.clear();
  return map;
}

export class CalicoFlowLogDecoder implements RecordDecoder {
  private readonly identities = new Map<string, Flow | string>();
  private readonly labels = new Map<string, Record<string, string>>();
  private readonly policyLists = new Map<string, string[]>();
  private readonly endpoints = new Map<string, FlowEndpoint | string>();
  private lookups = 0;
  private hits = 0;

  decode(value: unknown): SourceRecord {
    return calicoRecordFromJson(value);
  }

  decodeLine(text: string): SourceRecord | undefined {
    if (!text.startsWith(START)) return undefined;
    const startTime = integerAt(text, START.length);
    const identityStart = text.indexOf(SOURCE_IP, START.length);
    const counters = text.indexOf(COUNTERS, identityStart);
    if (Number.isNaN(startTime) || identityStart === -1 || counters === -1) return undefined;
    if (!text.startsWith(END_TIME, text.indexOf(",", START.length))) return undefined;
    const numFlows = integerAfter(text, NUM_FLOWS, counters);
    const numStarted = integerAfter(text, NUM_FLOWS_STARTED, counters);
    const hostAt = text.indexOf(HOST, counters);
    let node: string | undefined;
    if (hostAt !== -1) {
      const end = text.indexOf('"', hostAt + HOST.length);
      node = text.slice(hostAt + HOST.length, end);
      if (node.includes("\\") || node === "" || node === "-") return undefined;
    }

    // The source port is the one field that differs between the records of one pod pair (level 0):
    // it stays out of the identity and is set per record.
    const portKey = text.indexOf(SOURCE_PORT, identityStart);
    if (portKey === -1 || portKey > counters) return undefined;
    const portStart = portKey + SOURCE_PORT.length;
    const sourcePort = integerAt(text, portStart);
    let portEnd: number;
    if (Number.isNaN(sourcePort)) {
      if (!text.startsWith("null", portStart)) return undefined;
      portEnd = portStart + 4;
    } else {
      if (sourcePort > 65535) return undefined;
      portEnd = portStart + String(sourcePort).length;
    }
    if (text.charCodeAt(portEnd) !== 44 /* , */) return undefined;
    const identity = `${text.slice(identityStart, portStart)}#${text.slice(portEnd, counters)}`;
    const useCache = this.lookups < 2000 || this.hits * 10 > this.lookups;
    let template = useCache ? this.identities.get(identity) : undefined;
    if (useCache) {
      this.lookups++;
      if (template !== undefined) this.hits++;
    }
    if (template === undefined) {
      const converted = this.convert(text, identityStart, counters);
      if (converted === undefined) return undefined;
      template = converted;
      if (useCache) bounded(this.identities, MAX_IDENTITIES).set(identity, template);
    }
    if (typeof template === "string") return { kind: "bad", reason: template };
    const { sourcePort: _templatePort, ...rest } = template;
    const flow: Flow = { ...rest, time: startTime * 1000, count: connectionCount(numFlows, numStarted) };
    const ported = flow.protocol === "TCP" || flow.protocol === "UDP" || flow.protocol === "SCTP";
    if (ported && !Number.isNaN(sourcePort)) flow.sourcePort = sourcePort;
    if (node !== undefined) flow.node = node;
    return { kind: "flow", flow };
  }

  /** Converts a line's identity part, with its big values cut out and converted through caches. */
  private convert(text: string, from: number, to: number): Flow | string | undefined {
    const raws: string[] = [];
    let json = "{";
    let at = from + 1;
    for (const key of CUT_KEYS) {
      const k = text.indexOf(key, at);
      if (k === -1 || k > to) return undefined;
      const valueStart = k + key.length;
      const valueEnd_ = valueEnd(text, valueStart);
      if (valueEnd_ === -1 || valueEnd_ > to) return undefined;
      json += `${text.slice(at, valueStart)}0`;
      raws.push(text.slice(valueStart, valueEnd_));
      at = valueEnd_;
    }
    json += `${text.slice(at, to)}}`;
    let obj: Json | undefined;
    try {
      obj = asObject(JSON.parse(json));
    } catch {
      return undefined;
    }
    if (!obj) return undefined;
    const [sourceLabels = "null", destLabels = "null", policies = "null"] = raws;
    return calicoFlowLogToModel(obj, {
      endpoint: (o, side) => this.endpoint(o, side, side === "source" ? sourceLabels : destLabels),
      policies: () => this.policies(policies),
    });
  }

  private labelSet(raw: string): Record<string, string> {
    let labels = this.labels.get(raw);
    if (!labels) {
      labels = parseCalicoLabels(JSON.parse(raw));
      bounded(this.labels, MAX_PARTS).set(raw, labels);
    }
    return labels;
  }

  private endpoint(obj: Json, side: "source" | "dest", labelsRaw: string): FlowEndpoint | string {
    const p = side === "source" ? "source" : "dest";
    const key = [
      p,
      obj[`${p}_type`],
      obj[`${p}_name`],
      obj[`${p}_name_aggr`],
      obj[`${p}_namespace`],
      obj[`${p}_ip`],
      labelsRaw,
      side === "dest"
        ? `${JSON.stringify(obj.dest_domains)}|${obj.dest_service_namespace}|${obj.dest_service_name}`
        : "",
    ].join("\u0000");
    let ep = this.endpoints.get(key);
    if (ep === undefined) {
      ep = flowLogEndpoint(obj, side, this.labelSet(labelsRaw));
      bounded(this.endpoints, MAX_PARTS).set(key, ep);
    }
    return ep;
  }

  private policies(raw: string): string[] {
    let list = this.policyLists.get(raw);
    if (!list) {
      list = flowLogPolicies(JSON.parse(raw));
      bounded(this.policyLists, MAX_PARTS).set(raw, list);
    }
    return list;
  }
}
