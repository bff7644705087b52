import { isIP } from "node:net";
import type { LostEventsRecord } from "../../model/batch.js";
import { isClusterName } from "../../model/cluster.js";
import {
  emptyEndpoint,
  type Flow,
  type FlowEndpoint,
  IDENTITY_KIND,
  isTcpFlags,
  type Protocol,
  type ReservedEntity,
  type TrafficDirection,
  type Verdict,
} from "../../model/flow.js";
import { isDns1123Label, isDns1123Subdomain, isDnsName, isLabelKey, isLabelValue } from "../../model/k8s-names.js";
import { IDENTITY_LABEL_KEYS } from "../../model/labels.js";
import { BoundedLists, BoundedMap } from "../fast/bounded-map.js";
import {
  type DecodeOptions,
  droppedLabelsReason,
  type RecordDecoder,
  type RecordFormat,
  type SourceRecord,
} from "../record.js";
import { deriveWorkload } from "../workload.js";

/**
 * Hubble JSON (protojson) to the flow model. Accepts both proto names (`node_name`) and lowerCamel
 * names (`nodeName`), enums as names or numbers, 64-bit numbers as strings, absent fields.
 * Facts: ../shared/reference/hubble-formats.md and hubble-proto-facts.md.
 */

type Json = Record<string, unknown>;

const VERDICT_BY_NUMBER = ["unknown", "forwarded", "dropped", "error", "audit", "redirected", "unknown", "unknown"];
const VERDICT_BY_NAME: Record<string, Verdict> = {
  VERDICT_UNKNOWN: "unknown",
  TRACED: "unknown",
  TRANSLATED: "unknown",
  FORWARDED: "forwarded",
  DROPPED: "dropped",
  ERROR: "error",
  AUDIT: "audit",
  REDIRECTED: "redirected",
};
const DIRECTION_BY_NUMBER: TrafficDirection[] = ["unknown", "ingress", "egress"];
const TRACE_REASON_BY_NUMBER = [
  "",
  "NEW",
  "ESTABLISHED",
  "REPLY",
  "RELATED",
  "REOPENED",
  "SRV6_ENCAP",
  "SRV6_DECAP",
  "ENCRYPT_OVERLAY",
];
const LOST_SOURCE_BY_NUMBER = [
  "UNKNOWN_LOST_EVENT_SOURCE",
  "PERF_EVENT_RING_BUFFER",
  "OBSERVER_EVENTS_QUEUE",
  "HUBBLE_RING_BUFFER",
];
const RESERVED: Record<string, ReservedEntity> = {
  world: "world",
  "world-ipv4": "world",
  "world-ipv6": "world",
  host: "host",
  "remote-node": "remote-node",
  "kube-apiserver": "kube-apiserver",
  health: "health",
  ingress: "ingress",
  unmanaged: "unmanaged",
  init: "init",
};
/** Reserved identity numbers to entities, for records whose labels were masked away. */
const RESERVED_BY_IDENTITY: Record<number, ReservedEntity> = {
  1: "host",
  2: "world",
  3: "unmanaged",
  4: "health",
  5: "init",
  6: "remote-node",
  7: "kube-apiserver",
  8: "ingress",
  9: "world",
  10: "world",
};
/** When one endpoint carries several reserved labels, the most specific wins. */
const ENTITY_PRECEDENCE: ReservedEntity[] = [
  "kube-apiserver",
  "ingress",
  "health",
  "host",
  "remote-node",
  "init",
  "unmanaged",
  "world",
];
/** Labels Cilium adds to every identity: not the pod's own labels. */
const CILIUM_INTERNAL_LABEL_PREFIX = "io.cilium.k8s.";
const NAMESPACE_LABEL_PREFIX = "io.cilium.k8s.namespace.labels.";
const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
const SERVICE_ACCOUNT_LABEL = "io.cilium.k8s.policy.serviceaccount";

function field(obj: Json, protoName: string, camelName: string): unknown {
  const v = obj[protoName];
  return v !== undefined ? v : obj[camelName];
}

function asObject(v: unknown): Json | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
}

function asString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v !== "" && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function asStringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

const RFC3339_FRACTION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{1,9})Z$/;

function parseOtherTime(v: string): number | undefined {
  const m = RFC3339_FRACTION.exec(v);
  const ms = m ? Date.parse(`${m[1]}Z`) + Number((m[2] as string).padEnd(3, "0").slice(0, 3)) : Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The last whole second parsed: flows come in time order, so most lines share it. */
let lastSecondText = "";
let lastSecondMs = Number.NaN;

/** RFC 3339 in UTC to milliseconds; sub-millisecond digits are truncated, not rounded. */
export function parseTime(v: unknown): number | undefined {
  if (typeof v === "string") return parseTimeSpan(v, 0, v.length);
  const obj = asObject(v);
  if (obj) {
    const seconds = asNumber(obj.seconds);
    if (seconds === undefined) return undefined;
    return seconds * 1000 + Math.floor((asNumber(obj.nanos) ?? 0) / 1e6);
  }
  return undefined;
}

/** `parseTime` of the text between `start` and `end`, read in place when it can be. */
export function parseTimeSpan(text: string, start: number, end: number): number | undefined {
  const length = end - start;
  // Fast path: "YYYY-MM-DDTHH:MM:SS.fffZ" with 1-9 fraction digits, in the same second as before.
  if (length < 22 || length > 30 || text.charCodeAt(start + 19) !== 46 || text.charCodeAt(end - 1) !== 90) {
    return parseOtherTime(text.slice(start, end));
  }
  if (lastSecondText.length !== 19 || !text.startsWith(lastSecondText, start)) {
    const v = text.slice(start, end);
    const m = RFC3339_FRACTION.exec(v);
    if (!m) return parseOtherTime(v);
    lastSecondText = m[1] as string;
    lastSecondMs = Date.parse(`${lastSecondText}Z`);
  }
  let millis = 0;
  for (let i = start + 20; i < start + 23; i++) {
    const c = i < end - 1 ? text.charCodeAt(i) - 48 : 0;
    if (c < 0 || c > 9) return parseOtherTime(text.slice(start, end));
    millis = millis * 10 + c;
  }
  for (let i = start + 23; i < end - 1; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return parseOtherTime(text.slice(start, end));
  }
  return Number.isNaN(lastSecondMs) ? undefined : lastSecondMs + millis;
}

function enumName(v: unknown, byNumber: readonly string[]): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return byNumber[v];
  return undefined;
}

/** A Hubble verdict (absent: unknown), or undefined when the value is not one. */
function parseVerdict(v: unknown): Verdict | undefined {
  if (v === undefined) return "unknown";
  if (typeof v === "number") return VERDICT_BY_NUMBER[v] as Verdict | undefined;
  if (typeof v === "string") return VERDICT_BY_NAME[v];
  return undefined;
}

/** A traffic direction (absent: unknown), or undefined when the value is not one. */
function parseDirection(v: unknown): TrafficDirection | undefined {
  if (v === undefined || v === "TRAFFIC_DIRECTION_UNKNOWN") return "unknown";
  if (typeof v === "number") return DIRECTION_BY_NUMBER[v];
  if (v === "INGRESS") return "ingress";
  if (v === "EGRESS") return "egress";
  return undefined;
}

/**
 * A uint32 field read as a port or type number: absent is 0 (protojson omits zeros), a JSON
 * integer or a string of digits (protojson accepts both) within `max`; anything else undefined.
 */
export function uintField(v: unknown, max: number): number | undefined {
  if (v === undefined) return 0;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,16}$/.test(v) ? Number(v) : Number.NaN;
  return Number.isInteger(n) && n >= 0 && n <= max ? n : undefined;
}

/** A protobuf enum value as protojson writes it: a name (`POLICY_DENIED`) or a number. */
function isEnumValue(v: unknown): boolean {
  return (
    (typeof v === "number" && Number.isInteger(v) && v >= 0) ||
    (typeof v === "string" && /^[A-Z][A-Z0-9_]{0,63}$/.test(v))
  );
}

/** A node name as Hubble gives it: a DNS subdomain, after Relay's `cluster/` prefix. */
export function isNodeName(v: unknown): v is string {
  if (typeof v !== "string") return false;
  const slash = v.indexOf("/");
  return slash === -1
    ? isDns1123Subdomain(v)
    : isDns1123Subdomain(v.slice(0, slash)) && isDns1123Subdomain(v.slice(slash + 1));
}

/** An IPv4 or IPv6 address, without a zone (`%eth0`). */
export function isIpAddress(v: unknown): v is string {
  return typeof v === "string" && isIP(v) !== 0 && !v.includes("%");
}

/** Text for a wrong value in a reason: JSON, cut short. */
export function shown(v: unknown): string {
  const text =
    v !== null && typeof v === "object"
      ? Array.isArray(v)
        ? "a list"
        : "an object"
      : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Per-flow keys (IPs) kept by `EndpointCache`, and endpoint shapes kept per key. */
const CACHED_IPS = 10_000;
const SHAPES_PER_KEY = 2;
/** Endpoints kept by their whole key (no numeric identity). */
const CACHED_KEYS = 10_000;

/**
 * Parsed endpoints, complete with the per-flow fields (IP, DNS names, Service). The same pod
 * appears in thousands of flows: parsing and validating its labels once per decoder is most of
 * the ingest speed. The key is short: namespace, pod, numeric identity (Cilium derives it from the
 * labels), the label count and workload, then the per-flow fields. Cached endpoints are shared
 * between flows: never mutate them.
 */
export class EndpointCache {
  private readonly entries = new BoundedMap<string, FlowEndpoint | string>(CACHED_KEYS);
  /**
   * The common case, without building a key string: by the per-flow fields (the IP, in the common
   * case), then the pod, identity and shape compared. An IP taken over by pod after pod keeps its
   * newest shapes.
   */
  private readonly byFlow = new BoundedLists<string, CachedEndpoint>(CACHED_IPS, SHAPES_PER_KEY);

  get(raw: unknown, ip: string | undefined, names: unknown, service: unknown): FlowEndpoint | string {
    const obj = asObject(raw);
    const identity = obj?.identity;
    if (!obj || typeof identity !== "number" || identity === 0) return this.getByKey(obj, raw, ip, names, service);
    const labels = obj.labels;
    const workloads = obj.workloads;
    if ((labels !== undefined && !Array.isArray(labels)) || (workloads !== undefined && !Array.isArray(workloads))) {
      return completeEndpoint(parseEndpoint(raw, ip), names, service);
    }
    const pod = String(obj.pod_name ?? obj.podName ?? "");
    const perFlow = perFlowKey(ip, names, service);
    const w = Array.isArray(workloads) && workloads.length > 0 ? asObject(workloads[0]) : undefined;
    const namespace = obj.namespace;
    const labelCount = Array.isArray(labels) ? labels.length : -1;
    const cluster = obj.cluster_name ?? obj.clusterName;
    const workloadKind = w?.kind;
    const workloadName = w?.name;
    // Records of one pod may differ in shape (with and without `workloads`): keep each.
    const candidates = this.byFlow.get(perFlow);
    if (candidates) {
      for (const c of candidates) {
        const k = c.shape;
        if (
          k.pod === pod &&
          k.identity === identity &&
          k.namespace === namespace &&
          k.labelCount === labelCount &&
          k.cluster === cluster &&
          k.workloadKind === workloadKind &&
          k.workloadName === workloadName &&
          sameLabels(k.labels, labels)
        ) {
          return c.endpoint;
        }
      }
    }
    const endpoint = completeEndpoint(parseEndpoint(raw, ip), names, service);
    const shape = {
      pod,
      identity,
      namespace,
      labelCount,
      cluster,
      workloadKind,
      workloadName,
      // The list kept by the label cache: the cache then holds one copy per label set, not per pod.
      labels: Array.isArray(labels) ? labelSets.parse(labels, identity).raw : undefined,
    };
    this.byFlow.add(perFlow, { shape, endpoint });
    return endpoint;
  }

  private getByKey(
    obj: Json | undefined,
    raw: unknown,
    ip: string | undefined,
    names: unknown,
    service: unknown,
  ): FlowEndpoint | string {
    const identityKey = obj ? endpointCacheKey(obj) : "";
    const convert = () => completeEndpoint(parseEndpoint(raw, ip), names, service);
    if (identityKey === undefined) return convert();
    return this.entries.getOrMake(`${identityKey}\u0001${perFlowKey(ip, names, service)}`, convert);
  }
}

/** The per-flow part of an endpoint cache key: the IP alone in the common case, else with names and Service. */
function perFlowKey(ip: string | undefined, names: unknown, service: unknown): string {
  const svc = asObject(service);
  if (names === undefined && svc === undefined) return ip ?? "";
  const nameList = Array.isArray(names) ? names.join(",") : "";
  return `${ip ?? ""}\u0001${nameList}\u0001${svc ? `${String(svc.namespace)}/${String(svc.name)}` : ""}`;
}

interface EndpointShape {
  pod: string;
  identity: number;
  namespace: unknown;
  labelCount: number;
  /** The label texts: a record may keep an identity and change a label (Cilium would not). */
  labels: readonly unknown[] | undefined;
  cluster: unknown;
  workloadKind: unknown;
  workloadName: unknown;
}

interface CachedEndpoint {
  shape: EndpointShape;
  endpoint: FlowEndpoint | string;
}

function endpointCacheKey(obj: Json): string | undefined {
  const labels = obj.labels;
  if (labels !== undefined && !Array.isArray(labels)) return undefined;
  const identity = obj.identity;
  if (identity === undefined || identity === 0) {
    // No identity to stand for the labels: key on the labels themselves.
    return `${String(obj.namespace)}\u0001${String(obj.pod_name ?? obj.podName)}\u0001${labels ? labels.join("\u0001") : ""}\u0001${String(obj.cluster_name ?? obj.clusterName)}`;
  }
  const workloads = obj.workloads;
  let workload = "";
  if (Array.isArray(workloads) && workloads.length > 0) {
    const w = asObject(workloads[0]);
    workload = `${String(w?.kind)}/${String(w?.name)}`;
  } else if (workloads !== undefined && !Array.isArray(workloads)) return undefined;
  return `${String(obj.namespace)}\u0001${String(obj.pod_name ?? obj.podName)}\u0001${String(identity)}\u0001${labels ? labels.join("\u0001") : ""}\u0001${workload}\u0001${String(obj.cluster_name ?? obj.clusterName)}`;
}

/** Label lists with the same entries (the same list object, in the common case). */
function sameLabels(a: readonly unknown[] | undefined, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(b) || a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function completeEndpoint(ep: FlowEndpoint | string, names: unknown, service: unknown): FlowEndpoint | string {
  if (typeof ep === "string") return ep;
  ep.dnsNames = dnsNames(names);
  const svc = parseService(service);
  if (svc) ep.service = svc;
  return ep;
}

/** What a Hubble label list says about an endpoint (`parseLabels`). Shared: never mutate. */
interface ParsedLabels {
  raw: readonly unknown[];
  labels: Record<string, string>;
  namespaceLabels: Record<string, string>;
  serviceAccount: string | undefined;
  /** The namespace named by `io.kubernetes.pod.namespace`, for records that give none. */
  podNamespace: string | undefined;
  entities: readonly ReservedEntity[];
  droppedLabels: string | undefined;
}

function parseLabels(raw: readonly unknown[]): ParsedLabels {
  const parsed: ParsedLabels = {
    raw,
    labels: {},
    namespaceLabels: {},
    serviceAccount: undefined,
    podNamespace: undefined,
    entities: [],
    droppedLabels: undefined,
  };
  const entities: ReservedEntity[] = [];
  const dropped: string[] = [];
  for (const label of raw) {
    if (typeof label !== "string") {
      dropped.push(shown(label));
      continue;
    }
    const colon = label.indexOf(":");
    const source = colon === -1 ? "" : label.slice(0, colon);
    const kv = label.slice(colon + 1);
    if (source === "reserved") {
      const entity = RESERVED[kv];
      if (entity) entities.push(entity);
      continue;
    }
    if (source !== "k8s" && source !== "container" && source !== "") continue;
    const eq = kv.indexOf("=");
    const key = eq === -1 ? kv : kv.slice(0, eq);
    const value = eq === -1 ? "" : kv.slice(eq + 1);
    if (key.startsWith(NAMESPACE_LABEL_PREFIX)) {
      const namespaceKey = key.slice(NAMESPACE_LABEL_PREFIX.length);
      if (isLabelKey(namespaceKey) && isLabelValue(value)) parsed.namespaceLabels[namespaceKey] = value;
      else dropped.push(shown(label));
    } else if (key === SERVICE_ACCOUNT_LABEL) {
      if (isDns1123Subdomain(value)) parsed.serviceAccount = value;
      else dropped.push(shown(label));
    } else if (key === POD_NAMESPACE_LABEL) {
      if (parsed.podNamespace === undefined && isDns1123Label(value)) parsed.podNamespace = value;
    } else if (!key.startsWith(CILIUM_INTERNAL_LABEL_PREFIX) && source === "k8s") {
      if (isLabelKey(key) && isLabelValue(value)) parsed.labels[key] = value;
      else dropped.push(shown(label));
    }
  }
  parsed.entities = entities;
  if (dropped.length > 0) parsed.droppedLabels = droppedLabelsReason(dropped);
  return parsed;
}

/**
 * Parsed label lists by numeric identity: Cilium derives the identity from the labels, so the
 * pods of one workload share one list, whatever their names and IPs. High-churn traffic (pods
 * coming and going) then parses and validates each workload's labels once, and its endpoints share
 * one label object. A record may keep an identity and change a label, so lists are compared.
 * Bounded like the endpoint cache (`BoundedLists`).
 */
class LabelSets {
  /** At most 4 lists per identity (a record may keep an identity and change a label), 4,096 in all. */
  private readonly byIdentity = new BoundedLists<number, ParsedLabels>(1024, 4);

  parse(raw: readonly unknown[], identity: unknown): ParsedLabels {
    if (typeof identity !== "number") return parseLabels(raw);
    for (const p of this.byIdentity.get(identity) ?? []) if (sameLabels(p.raw, raw)) return p;
    const parsed = parseLabels(raw);
    this.byIdentity.add(identity, parsed);
    return parsed;
  }
}

const labelSets = new LabelSets();

export function parseEndpoint(raw: unknown, ip: string | undefined): FlowEndpoint | string {
  const ep = emptyEndpoint();
  if (ip) ep.ip = ip;
  const obj = asObject(raw);
  if (!obj) return ep;
  const namespace = asString(obj.namespace);
  const podName = asString(field(obj, "pod_name", "podName"));
  if (namespace) {
    if (!isDns1123Label(namespace)) return `namespace ${JSON.stringify(namespace)} is not a valid Kubernetes name`;
    ep.namespace = namespace;
  }
  if (podName) {
    if (!isDns1123Subdomain(podName)) return `pod name ${JSON.stringify(podName)} is not a valid Kubernetes name`;
    ep.podName = podName;
  }
  const cluster = asString(field(obj, "cluster_name", "clusterName"));
  if (cluster) {
    if (!isClusterName(cluster)) return `cluster_name ${JSON.stringify(cluster)} is not a cluster name (a DNS label)`;
    ep.cluster = cluster;
  }
  const rawLabels = obj.labels;
  if (rawLabels !== undefined && rawLabels !== null && !Array.isArray(rawLabels)) {
    return `labels ${shown(rawLabels)} is not a list of labels`;
  }
  const parsed = labelSets.parse((rawLabels ?? []) as unknown[], obj.identity);
  ep.labels = parsed.labels;
  ep.namespaceLabels = parsed.namespaceLabels;
  if (parsed.serviceAccount !== undefined) ep.serviceAccount = parsed.serviceAccount;
  if (!ep.namespace && parsed.podNamespace !== undefined) ep.namespace = parsed.podNamespace;
  if (parsed.droppedLabels !== undefined) ep.droppedLabels = parsed.droppedLabels;
  const entities = [...parsed.entities];
  if (entities.length === 0) {
    const identity = asNumber(obj.identity);
    const entity = identity !== undefined && !ep.podName ? RESERVED_BY_IDENTITY[identity] : undefined;
    if (entity) entities.push(entity);
  }
  if (entities.length > 0 && !ep.podName) {
    ep.entity = ENTITY_PRECEDENCE.find((e) => entities.includes(e)) ?? "world";
  }
  // A reserved identity on a named pod (`reserved:world` in a late record of a pod's IP, a
  // hostNetwork pod's `reserved:host`) says nothing about the pod's own labels.
  if (entities.length > 0 && ep.podName) ep.labels = {};
  const workloads = obj.workloads;
  if (Array.isArray(workloads) && workloads.length > 0) {
    const w = asObject(workloads[0]);
    const name = w && asString(w.name);
    const kind = w && asString(w.kind);
    if (name && kind) {
      if (!isDns1123Subdomain(name)) return `workload name ${JSON.stringify(name)} is not a valid Kubernetes name`;
      if (!/^[A-Za-z][A-Za-z0-9]{0,62}$/.test(kind)) return `workload kind ${JSON.stringify(kind)} is not a valid kind`;
      ep.workload = { kind, name };
    }
  }
  const identity = asNumber(obj.identity);
  if (identity !== undefined) ep.identity = identity;
  if (!ep.workload && ep.podName) ep.workload = deriveWorkload(ep.podName, ep.labels);
  if (!ep.workload && !ep.podName && !ep.entity && ep.namespace && Object.keys(ep.labels).length > 0) {
    ep.workload = { kind: IDENTITY_KIND, name: identityWorkloadName(ep.labels, identity) };
  }
  return ep;
}

/** A readable name for a peer known only by labels: its app label (and version), else its identity. */
function identityWorkloadName(labels: Record<string, string>, identity: number | undefined): string {
  const key = IDENTITY_LABEL_KEYS.find((k) => labels[k]);
  const base = key ? (labels[key] as string).toLowerCase() : "";
  const version = labels.version?.toLowerCase();
  const name = base && version ? `${base}-${version}` : base;
  return isDns1123Label(name) ? name : `identity-${identity ?? 0}`;
}

export function parseService(raw: unknown): { namespace: string; name: string } | undefined {
  const obj = asObject(raw);
  const name = obj && asString(obj.name);
  const namespace = obj && asString(obj.namespace);
  if (!name || !namespace || !isDns1123Label(name) || !isDns1123Label(namespace)) return undefined;
  return { namespace, name };
}

export function dnsNames(v: unknown): string[] {
  return asStringArray(v)
    .map((n) => n.replace(/\.$/, "").toLowerCase())
    .filter(isDnsName);
}

/** Converts one parsed Hubble Flow object to the flow model. */
export function hubbleFlowToModel(
  raw: Json,
  envelopeNode?: string,
  envelopeTime?: number,
  cache?: EndpointCache,
): Flow | string {
  const ips = flowIps(raw);
  if (typeof ips === "string") return ips;
  const [srcIp, dstIp] = ips;
  const srcNames = field(raw, "source_names", "sourceNames");
  const dstNames = field(raw, "destination_names", "destinationNames");
  const srcService = field(raw, "source_service", "sourceService");
  const dstService = field(raw, "destination_service", "destinationService");
  const noSource = missingEndpoint(raw.source, srcIp, "source");
  if (noSource) return noSource;
  const source = cache
    ? cache.get(raw.source, srcIp, srcNames, srcService)
    : completeEndpoint(parseEndpoint(raw.source, srcIp), srcNames, srcService);
  if (typeof source === "string") return `source: ${source}`;
  const noDestination = missingEndpoint(raw.destination, dstIp, "destination");
  if (noDestination) return noDestination;
  const destination = cache
    ? cache.get(raw.destination, dstIp, dstNames, dstService)
    : completeEndpoint(parseEndpoint(raw.destination, dstIp), dstNames, dstService);
  if (typeof destination === "string") return `destination: ${destination}`;
  return flowWithEndpoints(raw, source, destination, envelopeNode, envelopeTime);
}

/** Why one side of a flow is missing: an endpoint that is not an object, or neither endpoint nor IP. */
function missingEndpoint(raw: unknown, ip: string | undefined, side: string): string | undefined {
  if (raw === undefined)
    return ip === undefined ? `the flow has no ${side} (neither an endpoint nor an IP)` : undefined;
  return asObject(raw) ? undefined : `${side} ${shown(raw)} is not an endpoint object`;
}

export function flowIps(raw: Json): [string | undefined, string | undefined] | string {
  const ipRaw = raw.IP ?? raw.ip;
  if (ipRaw === undefined) return [undefined, undefined];
  const ipObj = asObject(ipRaw);
  if (!ipObj) return `IP ${shown(ipRaw)} is not an object`;
  const srcIp = ipObj.source;
  const dstIp = ipObj.destination;
  if (srcIp !== undefined && !isIpAddress(srcIp)) {
    return `IP.source ${shown(srcIp)} is not an IP address`;
  }
  if (dstIp !== undefined && !isIpAddress(dstIp)) {
    return `IP.destination ${shown(dstIp)} is not an IP address`;
  }
  return [srcIp, dstIp];
}

/** The rest of a flow, once its endpoints (with IPs, DNS names and Services) are resolved. */
export function flowWithEndpoints(
  raw: Json,
  source: FlowEndpoint,
  destination: FlowEndpoint,
  envelopeNode: string | undefined,
  envelopeTime: number | undefined,
): Flow | string {
  const rawTime = raw.time;
  const time = rawTime === undefined ? envelopeTime : parseTime(rawTime);
  if (time === undefined)
    return rawTime === undefined ? "the flow has no `time`" : `time ${shown(rawTime)} is not a time`;

  let protocol: Protocol = "other";
  let sourcePort: number | undefined;
  let destinationPort: number | undefined;
  let icmpType: number | undefined;
  let tcpFlags: Flow["tcpFlags"];
  const l4Raw = raw.l4;
  const l4 = asObject(l4Raw);
  if (l4Raw !== undefined && !l4) return `l4 ${shown(l4Raw)} is not an object`;
  if (l4) {
    const tcp = asObject(l4.TCP);
    const udp = asObject(l4.UDP);
    const sctp = asObject(l4.SCTP);
    const icmp4 = asObject(l4.ICMPv4);
    const icmp6 = asObject(l4.ICMPv6);
    const ported = tcp ?? udp ?? sctp;
    if (ported) {
      protocol = tcp ? "TCP" : udp ? "UDP" : "SCTP";
      const src = field(ported, "source_port", "sourcePort");
      const dst = field(ported, "destination_port", "destinationPort");
      sourcePort = uintField(src, 65535);
      if (sourcePort === undefined) return `l4.${protocol}.source_port ${shown(src)} is not a port (0 to 65535)`;
      destinationPort = uintField(dst, 65535);
      if (destinationPort === undefined) {
        return `l4.${protocol}.destination_port ${shown(dst)} is not a port (0 to 65535)`;
      }
      const flagsRaw = tcp?.flags;
      if (flagsRaw !== undefined && !isTcpFlags(flagsRaw)) {
        return `l4.TCP.flags ${shown(flagsRaw)} is not an object of booleans`;
      }
      if (flagsRaw !== undefined) tcpFlags = flagsRaw;
    } else if (icmp4 || icmp6) {
      protocol = icmp4 ? "ICMPv4" : "ICMPv6";
      const type = (icmp4 ?? icmp6)?.type;
      icmpType = uintField(type, 255);
      if (icmpType === undefined) return `l4.${protocol}.type ${shown(type)} is not an ICMP type (0 to 255)`;
    }
  }
  const nodeRaw = field(raw, "node_name", "nodeName");
  if (nodeRaw !== undefined && !isNodeName(nodeRaw)) return `node_name ${shown(nodeRaw)} is not a node name`;
  const node = (nodeRaw as string | undefined) ?? envelopeNode;
  const uuid = raw.uuid;
  if (uuid !== undefined && typeof uuid !== "string") return `uuid ${shown(uuid)} is not a string`;
  const isReplyRaw = field(raw, "is_reply", "isReply");
  if (isReplyRaw !== undefined && isReplyRaw !== null && typeof isReplyRaw !== "boolean") {
    return `is_reply ${shown(isReplyRaw)} is not true or false`;
  }
  const isReply = typeof isReplyRaw === "boolean" ? isReplyRaw : raw.reply === true ? true : undefined;
  const traceReason = enumName(field(raw, "trace_reason", "traceReason"), TRACE_REASON_BY_NUMBER);
  const dropReason = field(raw, "drop_reason_desc", "dropReasonDesc");
  const verdict = parseVerdict(raw.verdict);
  if (verdict === undefined) return `verdict ${shown(raw.verdict)} is not a Hubble verdict`;
  const directionRaw = field(raw, "traffic_direction", "trafficDirection");
  const direction = parseDirection(directionRaw);
  if (direction === undefined) return `traffic_direction ${shown(directionRaw)} is not a traffic direction`;
  if (dropReason !== undefined && !isEnumValue(dropReason)) {
    return `drop_reason_desc ${shown(dropReason)} is not a drop reason name or number`;
  }

  const flow: Flow = {
    time,
    verdict,
    direction,
    isReply,
    protocol,
    source,
    destination,
    sourceSystem: "hubble",
    count: 1,
  };
  if (node) flow.node = node;
  if (uuid) flow.uuid = uuid;
  if (traceReason) flow.traceReason = traceReason;
  if (typeof dropReason === "string" && dropReason !== "DROP_REASON_UNKNOWN") flow.dropReason = dropReason;
  else if (typeof dropReason === "number" && dropReason !== 0) flow.dropReason = String(dropReason);
  if (sourcePort !== undefined) flow.sourcePort = sourcePort;
  if (destinationPort !== undefined) flow.destinationPort = destinationPort;
  if (icmpType !== undefined) flow.icmpType = icmpType;
  if (tcpFlags) flow.tcpFlags = tcpFlags;
  const dns = asObject(asObject(raw.l7)?.dns);
  if (dns) {
    const query = asString(dns.query)?.replace(/\.$/, "").toLowerCase();
    const ips = asStringArray(dns.ips).filter(isIpAddress);
    if (query && isDnsName(query) && ips.length > 0) flow.dnsAnswer = { query, ips };
  }
  return flow;
}

const NON_FLOW_EVENTS: Array<[string, string]> = [
  ["node_status", "nodeStatus"],
  ["agent_event", "agentEvent"],
  ["debug_event", "debugEvent"],
];

/** Classifies one parsed JSON value from a Hubble file: envelope, legacy bare flow, or other. */
export function hubbleRecordFromJson(value: unknown, cache?: EndpointCache, defaultTime?: number): SourceRecord {
  let obj = asObject(value);
  if (!obj) return { kind: "bad", reason: "the line is JSON but not an object" };
  // Log shippers (fluent-bit, Vector) wrap the exporter line in a `log` or `message` string.
  const wrapped = asString(obj.log) ?? asString(obj.message);
  if (wrapped !== undefined && obj.flow === undefined && wrapped.trimStart().startsWith("{")) {
    try {
      obj = asObject(JSON.parse(wrapped));
    } catch {
      return { kind: "bad", reason: "the `log`/`message` field is not valid JSON" };
    }
    if (!obj) return { kind: "bad", reason: "the `log`/`message` field is not a JSON object" };
  }
  const envelopeNodeRaw = field(obj, "node_name", "nodeName");
  if (envelopeNodeRaw !== undefined && !isNodeName(envelopeNodeRaw)) {
    return { kind: "bad", reason: `node_name ${shown(envelopeNodeRaw)} is not a node name` };
  }
  const envelopeNode = envelopeNodeRaw as string | undefined;
  const inner = asObject(obj.flow);
  const envelopeTime =
    inner?.time !== undefined ? undefined : obj.time === undefined ? defaultTime : parseTime(obj.time);
  if (inner) return flowRecord(hubbleFlowToModel(inner, envelopeNode, envelopeTime, cache));
  const lost = asObject(field(obj, "lost_events", "lostEvents"));
  if (lost) {
    const source =
      lost.source === undefined ? "UNKNOWN_LOST_EVENT_SOURCE" : enumName(lost.source, LOST_SOURCE_BY_NUMBER);
    if (source === undefined || !isEnumValue(source)) {
      return { kind: "bad", reason: `lost_events.source ${shown(lost.source)} is not a lost-event source` };
    }
    const countRaw = field(lost, "num_events_lost", "numEventsLost");
    const count = uintField(countRaw, Number.MAX_SAFE_INTEGER);
    if (count === undefined) {
      return { kind: "bad", reason: `lost_events.num_events_lost ${shown(countRaw)} is not a count` };
    }
    const record: LostEventsRecord = { source, lost: count };
    if (envelopeNode) record.node = envelopeNode;
    if (envelopeTime !== undefined) record.time = envelopeTime;
    return { kind: "lost", lost: record };
  }
  for (const [protoName, camelName] of NON_FLOW_EVENTS) {
    if (field(obj, protoName, camelName) !== undefined) return { kind: "skip", what: protoName };
  }
  if (obj.verdict !== undefined || obj.IP !== undefined || obj.source !== undefined || obj.l4 !== undefined) {
    return flowRecord(hubbleFlowToModel(obj, undefined, defaultTime, cache));
  }
  return { kind: "bad", reason: "the object is not a Hubble flow, envelope or event" };
}

function flowRecord(result: Flow | string): SourceRecord {
  return typeof result === "string" ? { kind: "bad", reason: result } : { kind: "flow", flow: result };
}

/**
 * A stateful decoder: keeps an endpoint cache across records, so each distinct pod is parsed and
 * validated once per worker rather than once per flow. Lines go through `JSON.parse`: text-level
 * fast paths (line templates, endpoint splicing) were measured slower than it on every shape
 * (docs/design.md, "The fast-path kit").
 */
export class HubbleDecoder implements RecordDecoder {
  private readonly cache = new EndpointCache();
  private readonly defaultTime: number | undefined;

  constructor(options: DecodeOptions = {}) {
    this.defaultTime = options.defaultTime;
  }

  decode(value: unknown): SourceRecord {
    return hubbleRecordFromJson(value, this.cache, this.defaultTime);
  }
}

export const hubbleFormat: RecordFormat = {
  name: "hubble",
  system: "hubble",
  detect: (obj) =>
    obj.flow !== undefined ||
    obj.lost_events !== undefined ||
    obj.lostEvents !== undefined ||
    obj.node_status !== undefined ||
    obj.nodeStatus !== undefined ||
    obj.agent_event !== undefined ||
    obj.debug_event !== undefined ||
    (obj.verdict !== undefined && (obj.IP !== undefined || obj.l4 !== undefined || obj.source !== undefined)),
  toRecord: (value, options) => hubbleRecordFromJson(value, undefined, options?.defaultTime),
  createDecoder: (options) => new HubbleDecoder(options),
};
