import { isClusterName } from "../../model/cluster.js";
import type { Flow, FlowEndpoint } from "../../model/flow.js";
import { isDns1123Label, isDnsName } from "../../model/k8s-names.js";
import { isNodeName } from "../hubble/json-flow.js";
import type { SourceRecord } from "../record.js";
import { type CalicoEndpointFields, calicoEndpoint, calicoEndpointType } from "./endpoint.js";
import {
  calicoProtocol,
  calicoReporter,
  calicoVerdict,
  invalidAction,
  invalidProtocol,
  invalidReporter,
  shownValue,
} from "./fields.js";
import { asInteger, asObject, asString, type Json, present } from "./json.js";
import { parseCalicoLabels } from "./labels.js";
import { flowLogPolicies } from "./policies.js";

/**
 * Calico Enterprise / Calico Cloud flow logs (`/var/log/calico/flowlogs/flows.log`, one JSON
 * object per line, and the same records read back from Elasticsearch/Linseed) to the flow model.
 * Facts: ../shared/reference/calico-flowlogs.md. A record is one connection direction as the
 * initiator made it (source = client), so it is never a reply.
 */

function endpointFields(obj: Json, side: "source" | "dest"): CalicoEndpointFields {
  const droppedLabels: string[] = [];
  return {
    type: calicoEndpointType(obj[`${side}_type`]),
    name: present(obj[`${side}_name`]),
    nameAggr: present(obj[`${side}_name_aggr`]),
    namespace: present(obj[`${side}_namespace`]),
    ip: present(obj[`${side}_ip`]),
    labels: parseCalicoLabels(obj[`${side}_labels`], droppedLabels),
    droppedLabels,
  };
}

/**
 * Seconds (Felix), milliseconds (`@timestamp`) or an ISO string (some exports) to ms; a record
 * with none of the three fields takes `defaultTime`.
 */
function recordTime(obj: Json, defaultTime: number | undefined): number | undefined {
  const key = TIME_KEYS.find((k) => obj[k] !== undefined && obj[k] !== null);
  if (key === undefined) return defaultTime;
  const v = obj[key];
  const whole = asInteger(v);
  if (whole !== undefined) return key === "@timestamp" ? whole : whole * 1000;
  const ms = typeof v === "string" && key !== "@timestamp" ? Date.parse(v) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** The record's time: the first of these present decides. */
const TIME_KEYS = ["start_time", "end_time", "@timestamp"];

function port(v: unknown, what: string): number | undefined | string {
  if (v === null || v === undefined) return undefined;
  const n = asInteger(v);
  if (n === undefined || n < 0 || n > 65535) return `${what} ${JSON.stringify(v)} is not a port number`;
  return n;
}

/** Why a connection count is not one (absent is allowed): a whole number from 0. */
export function invalidCount(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const n = asInteger(v);
  return n !== undefined && n >= 0 ? undefined : `${what} ${shownValue(v)} is not a count`;
}

/** How many connections a record stands for: `num_flows` (active in the window), at least 1. */
export function connectionCount(...counts: unknown[]): number {
  let n = 1;
  for (const c of counts) {
    const v = asInteger(c);
    if (v !== undefined && v > n) n = v;
  }
  return n;
}

/** One side of a record: endpoint fields, plus the destination's DNS names and Service. */
export function flowLogEndpoint(
  obj: Json,
  side: "source" | "dest",
  labels?: Record<string, string>,
): FlowEndpoint | string {
  const fields = endpointFields(obj, side);
  if (labels) fields.labels = labels;
  const ep = calicoEndpoint(fields, side);
  if (typeof ep === "string" || side === "source") return ep;
  if (Array.isArray(obj.dest_domains)) {
    ep.dnsNames = obj.dest_domains
      .filter((d): d is string => typeof d === "string")
      .map((d) => d.replace(/\.$/, "").toLowerCase())
      .filter(isDnsName);
  }
  const serviceName = present(obj.dest_service_name);
  const serviceNamespace = present(obj.dest_service_namespace);
  if (serviceName && serviceNamespace && isDns1123Label(serviceName) && isDns1123Label(serviceNamespace)) {
    ep.service = { namespace: serviceNamespace, name: serviceName };
  }
  return ep;
}

/** How the converter gets endpoints and policies: directly, or through a decoder's caches. */
export interface FlowLogParts {
  endpoint(obj: Json, side: "source" | "dest"): FlowEndpoint | string;
  policies(obj: Json): string[];
}

const DIRECT: FlowLogParts = {
  endpoint: (obj, side) => flowLogEndpoint(obj, side),
  policies: (obj) => flowLogPolicies(obj.policies),
};

export function calicoFlowLogToModel(obj: Json, parts: FlowLogParts = DIRECT, defaultTime?: number): Flow | string {
  const source = parts.endpoint(obj, "source");
  if (typeof source === "string") return source;
  const destination = parts.endpoint(obj, "dest");
  if (typeof destination === "string") return destination;
  const wrong =
    invalidProtocol(obj.proto, "proto") ??
    invalidAction(obj.action) ??
    invalidReporter(obj.reporter) ??
    invalidCount(obj.num_flows, "num_flows") ??
    invalidCount(obj.num_flows_started, "num_flows_started");
  if (wrong) return wrong;
  const protocol = calicoProtocol(obj.proto);
  const verdict = calicoVerdict(obj.action);
  const sourcePort = port(obj.source_port, "source_port");
  if (typeof sourcePort === "string") return sourcePort;
  const destinationPort = port(obj.dest_port, "dest_port");
  if (typeof destinationPort === "string") return destinationPort;
  const ported = protocol === "TCP" || protocol === "UDP" || protocol === "SCTP";
  // `null` is a port aggregated away (level 3); a record without the field is not a flow log's.
  if (ported && obj.dest_port === undefined) return `the ${protocol} record has no \`dest_port\``;
  const time = recordTime(obj, defaultTime);
  if (time === undefined) {
    const key = TIME_KEYS.find((k) => obj[k] !== undefined && obj[k] !== null);
    return key
      ? `${key} ${shownValue(obj[key])} is not a time`
      : "the record has no valid `start_time`, `end_time` or `@timestamp`";
  }
  const host = obj.host;
  if (present(host) !== undefined && !isNodeName(host)) return `host ${shownValue(host)} is not a node name`;
  const cluster = present(obj.cluster);
  if (cluster !== undefined && !isClusterName(cluster)) {
    return `cluster ${shownValue(obj.cluster)} is not a cluster name (a DNS label)`;
  }

  const flow: Flow = {
    time,
    verdict,
    direction: "unknown",
    isReply: false,
    protocol,
    source,
    destination,
    sourceSystem: "calico",
    count: connectionCount(obj.num_flows, obj.num_flows_started),
  };
  const reporter = calicoReporter(obj.reporter);
  if (reporter) {
    flow.reporter = reporter;
    flow.direction = reporter === "src" ? "egress" : "ingress";
  }
  if (cluster !== undefined) flow.cluster = cluster;
  if (verdict === "dropped") flow.dropReason = "POLICY_DENIED";
  const node = present(obj.host);
  if (node) flow.node = node;
  if (ported && sourcePort !== undefined) flow.sourcePort = sourcePort;
  if (ported && destinationPort !== undefined) flow.destinationPort = destinationPort;
  const policies = parts.policies(obj);
  if (policies.length > 0) flow.policies = policies;
  return flow;
}

export function looksLikeFlowLog(obj: Json): boolean {
  return (
    obj.source_name_aggr !== undefined ||
    obj.dest_name_aggr !== undefined ||
    (obj.reporter !== undefined && obj.action !== undefined && obj.dest_type !== undefined)
  );
}

/** The record itself, or the record inside an Elasticsearch hit (`_source`) or a shipper's `log`. */
function unwrap(value: unknown): Json | undefined {
  const obj = asObject(value);
  if (!obj) return undefined;
  const source = asObject(obj._source);
  if (source) return source;
  const wrapped = asString(obj.log) ?? asString(obj.message);
  if (wrapped !== undefined && !looksLikeFlowLog(obj) && wrapped.trimStart().startsWith("{")) {
    try {
      return asObject(JSON.parse(wrapped));
    } catch {
      return undefined;
    }
  }
  return obj;
}

/** A parsed line to a record; `parts` (a decoder's caches) only for records not in an envelope. */
export function calicoRecordFromJson(value: unknown, parts: FlowLogParts = DIRECT, defaultTime?: number): SourceRecord {
  const obj = unwrap(value);
  if (!obj) return { kind: "bad", reason: "the line is JSON but not a Calico flow-log object" };
  if (!looksLikeFlowLog(obj)) return { kind: "bad", reason: "the object is not a Calico flow-log record" };
  const flow = calicoFlowLogToModel(obj, obj === value ? parts : DIRECT, defaultTime);
  return typeof flow === "string" ? { kind: "bad", reason: flow } : { kind: "flow", flow };
}
