import type { LostEventsRecord } from "../../model/batch.js";
import type { Flow, FlowEndpoint } from "../../model/flow.js";
import { BoundedLists } from "../fast/bounded-map.js";
import type { SourceRecord } from "../record.js";
import { DROP_REASON_NAMES, LOST_EVENT_SOURCE_NAMES, NODE_STATE_NAMES } from "./enum-names.js";
import { EndpointCache, hubbleFlowToModel, isNodeName, shown } from "./json-flow.js";
import { WireReader } from "./wire.js";

/**
 * Selective decoding of `observer.GetFlowsResponse` bytes: reads only the fields the flow model
 * needs into the same proto-name JSON shape `hubbleFlowToModel` reads from files, so gRPC and file
 * ingest share every mapping rule. Field numbers: ../shared/reference/hubble-proto-facts.md.
 */

type Json = Record<string, unknown>;

const LEN = 2;

function timestamp(r: WireReader): { seconds: number; nanos: number } {
  const end = r.lengthEnd();
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 8) seconds = r.varint();
    else if (tag === 16) nanos = r.varint();
    else r.skip(tag & 7);
  }
  return { seconds, nanos };
}

function timeMs(t: { seconds: number; nanos: number }): number {
  return t.seconds * 1000 + Math.floor(t.nanos / 1e6);
}

/** A message of string fields only, by field number to proto name. */
function stringFields(r: WireReader, names: Record<number, string>): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  while (r.pos < end) {
    const tag = r.tag();
    const name = (tag & 7) === LEN ? names[tag >>> 3] : undefined;
    if (name) out[name] = r.string();
    else r.skip(tag & 7);
  }
  return out;
}

const SERVICE_FIELDS = { 1: "name", 2: "namespace" };
const WORKLOAD_FIELDS = { 1: "name", 2: "kind" };
const IP_FIELDS = { 1: "source", 2: "destination" };

/**
 * The same pod appears in many flows with byte-identical Endpoint messages, so each distinct one
 * is decoded once (and, being the same object, parsed once by the cache). A worker keeps one memo
 * across chunks, bounded like the cache.
 */
export class EndpointMemo extends EndpointCache {
  /** By a hash of the length and first bytes; the whole message is then compared (one memcmp). */
  private readonly decoded = new BoundedLists<number, { bytes: Buffer; json: Json }>(MAX_DECODED_ENDPOINTS, 4);

  endpoint(r: WireReader): Json {
    const start = r.pos;
    const end = r.lengthEnd();
    const content = r.pos;
    const buf = r.buf;
    const key = prefixHash(buf, content, end);
    const candidates = this.decoded.get(key);
    if (candidates) {
      for (const c of candidates) {
        if (c.bytes.length === end - content && buf.compare(c.bytes, 0, c.bytes.length, content, end) === 0) {
          r.pos = end;
          return c.json;
        }
      }
    }
    r.pos = start;
    const json = endpoint(r);
    this.decoded.add(key, { bytes: Buffer.from(buf.subarray(content, end)), json });
    return json;
  }

  /** Completed endpoints per decoded Endpoint object (above), then by IP: no key strings to build. */
  private readonly completed = new WeakMap<object, Map<string | undefined, CompletedEndpoint[]>>();

  override get(raw: unknown, ip: string | undefined, names: unknown, service: unknown): FlowEndpoint | string {
    if (raw === null || typeof raw !== "object" || (names !== undefined && !Array.isArray(names))) {
      return super.get(raw, ip, names, service);
    }
    const svc = service as { namespace?: unknown; name?: unknown } | undefined;
    if (svc !== undefined && (svc === null || typeof svc !== "object")) return super.get(raw, ip, names, service);
    let byIp = this.completed.get(raw);
    if (!byIp || byIp.size >= MAX_IPS_PER_ENDPOINT) {
      byIp = new Map();
      this.completed.set(raw, byIp);
    }
    let list = byIp.get(ip);
    if (list) {
      for (const c of list) {
        if (c.serviceNamespace === svc?.namespace && c.serviceName === svc?.name && sameNames(c.names, names)) {
          return c.endpoint;
        }
      }
    } else {
      list = [];
      byIp.set(ip, list);
    }
    const endpoint = super.get(raw, ip, names, service);
    list.push({
      names: names as string[] | undefined,
      serviceNamespace: svc?.namespace,
      serviceName: svc?.name,
      endpoint,
    });
    return endpoint;
  }
}

interface CompletedEndpoint {
  names: string[] | undefined;
  serviceNamespace: unknown;
  serviceName: unknown;
  endpoint: FlowEndpoint | string;
}

/** Bounds the IPs remembered per Endpoint message: `world` is one message with any number of IPs. */
const MAX_IPS_PER_ENDPOINT = 256;

function sameNames(a: string[] | undefined, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  const other = b as unknown[];
  if (a.length !== other.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== other[i]) return false;
  return true;
}

/** FNV-1a of the length and the first `KEY_BYTES` bytes: no string to build for the lookup. */
function prefixHash(buf: Buffer, start: number, end: number): number {
  let h = Math.imul(2166136261 ^ (end - start), 16777619);
  const stop = Math.min(end, start + KEY_BYTES);
  for (let i = start; i < stop; i++) h = Math.imul(h ^ (buf[i] as number), 16777619);
  return h;
}

const KEY_BYTES = 24;
const MAX_DECODED_ENDPOINTS = 20_000;

function endpoint(r: WireReader): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  const labels: string[] = [];
  const workloads: Json[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (2 << 3) | 0:
        out.identity = r.varint();
        break;
      case (3 << 3) | LEN:
        out.namespace = r.string();
        break;
      case (4 << 3) | LEN:
        labels.push(r.string());
        break;
      case (5 << 3) | LEN:
        out.pod_name = r.string();
        break;
      case (6 << 3) | LEN:
        workloads.push(stringFields(r, WORKLOAD_FIELDS));
        break;
      case (7 << 3) | LEN:
        out.cluster_name = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  if (labels.length > 0) out.labels = labels;
  if (workloads.length > 0) out.workloads = workloads;
  return out;
}

const TCP_FLAG_NAMES = ["", "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"];

function tcpFlags(r: WireReader): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  while (r.pos < end) {
    const tag = r.tag();
    const name = (tag & 7) === 0 ? TCP_FLAG_NAMES[tag >>> 3] : undefined;
    if (name) {
      if (r.varint() !== 0) out[name] = true;
    } else r.skip(tag & 7);
  }
  return out;
}

function ported(r: WireReader, withFlags: boolean): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 8) out.source_port = r.varint();
    else if (tag === 16) out.destination_port = r.varint();
    else if (withFlags && tag === ((3 << 3) | LEN)) out.flags = tcpFlags(r);
    else r.skip(tag & 7);
  }
  return out;
}

function icmp(r: WireReader): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 8) out.type = r.varint();
    else if (tag === 16) out.code = r.varint();
    else r.skip(tag & 7);
  }
  return out;
}

const L4_BRANCHES = ["", "TCP", "UDP", "ICMPv4", "ICMPv6", "SCTP"];

function layer4(r: WireReader): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  while (r.pos < end) {
    const tag = r.tag();
    const field = tag >>> 3;
    const branch = (tag & 7) === LEN ? L4_BRANCHES[field] : undefined;
    if (!branch) r.skip(tag & 7);
    else if (field === 3 || field === 4) out[branch] = icmp(r);
    else out[branch] = ported(r, field === 1);
  }
  return out;
}

function dns(r: WireReader): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  const ips: string[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) out.query = r.string();
    else if (tag === ((2 << 3) | LEN)) ips.push(r.string());
    else r.skip(tag & 7);
  }
  out.ips = ips;
  return out;
}

function layer7(r: WireReader): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((100 << 3) | LEN)) out.dns = dns(r);
    else r.skip(tag & 7);
  }
  return out;
}

function boolValue(r: WireReader): boolean {
  const end = r.lengthEnd();
  let value = false;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 8) value = r.varint() !== 0;
    else r.skip(tag & 7);
  }
  return value;
}

/**
 * Reads a `flow.Flow` (the reader is at its length prefix) into the proto-name JSON shape.
 * Without `uuids` the flow's `uuid` is skipped: aggregation does not read it.
 */
export function decodeFlow(r: WireReader, memo?: EndpointMemo, uuids = true): Json {
  const end = r.lengthEnd();
  const out: Json = {};
  const sourceNames: string[] = [];
  const destinationNames: string[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        out.time = timestamp(r);
        break;
      case (34 << 3) | LEN:
        if (uuids) out.uuid = r.string();
        else r.skip(LEN);
        break;
      case (2 << 3) | 0:
        out.verdict = r.varint();
        break;
      case (5 << 3) | LEN:
        out.IP = stringFields(r, IP_FIELDS);
        break;
      case (6 << 3) | LEN:
        out.l4 = layer4(r);
        break;
      case (8 << 3) | LEN:
        out.source = memo ? memo.endpoint(r) : endpoint(r);
        break;
      case (9 << 3) | LEN:
        out.destination = memo ? memo.endpoint(r) : endpoint(r);
        break;
      case (11 << 3) | LEN:
        out.node_name = r.string();
        break;
      case (13 << 3) | LEN:
        sourceNames.push(r.string());
        break;
      case (14 << 3) | LEN:
        destinationNames.push(r.string());
        break;
      case (15 << 3) | LEN:
        out.l7 = layer7(r);
        break;
      case (16 << 3) | 0:
        out.reply = r.varint() !== 0;
        break;
      case (20 << 3) | LEN:
        out.source_service = stringFields(r, SERVICE_FIELDS);
        break;
      case (21 << 3) | LEN:
        out.destination_service = stringFields(r, SERVICE_FIELDS);
        break;
      case (22 << 3) | 0:
        out.traffic_direction = r.varint();
        break;
      case (36 << 3) | 0:
        out.trace_reason = r.varint();
        break;
      case (25 << 3) | 0: {
        const n = r.varint();
        out.drop_reason_desc = DROP_REASON_NAMES.get(n) ?? n;
        break;
      }
      case (26 << 3) | LEN:
        out.is_reply = boolValue(r);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  if (sourceNames.length > 0) out.source_names = sourceNames;
  if (destinationNames.length > 0) out.destination_names = destinationNames;
  return out;
}

function lostEvent(r: WireReader): { source: string; lost: number } {
  const end = r.lengthEnd();
  let source = 0;
  let lost = 0;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 8) source = r.varint();
    else if (tag === 16) lost = r.varint();
    else r.skip(tag & 7);
  }
  return { source: LOST_EVENT_SOURCE_NAMES[source] ?? "UNKNOWN_LOST_EVENT_SOURCE", lost };
}

export interface NodeStatusRecord {
  state: string;
  nodes: string[];
  message: string;
}

function nodeStatus(r: WireReader): NodeStatusRecord {
  const end = r.lengthEnd();
  const out: NodeStatusRecord = { state: NODE_STATE_NAMES[0] as string, nodes: [], message: "" };
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 8) out.state = NODE_STATE_NAMES[r.varint()] ?? "UNKNOWN_NODE_STATE";
    else if (tag === ((2 << 3) | LEN)) out.nodes.push(r.string());
    else if (tag === ((3 << 3) | LEN)) out.message = r.string();
    else r.skip(tag & 7);
  }
  return out;
}

export type DecodedResponse =
  | { kind: "flow"; flow: Json; node?: string; time?: number }
  | { kind: "lost"; lost: LostEventsRecord }
  | { kind: "node_status"; status: NodeStatusRecord; time?: number }
  | { kind: "other" };

/** Decodes one `observer.GetFlowsResponse`. Throws RangeError on malformed bytes. */
export function decodeResponse(
  buf: Buffer,
  start = 0,
  end = buf.length,
  memo?: EndpointMemo,
  uuids = true,
): DecodedResponse {
  const r = new WireReader(buf, start, end);
  let flow: Json | undefined;
  let lost: { source: string; lost: number } | undefined;
  let status: NodeStatusRecord | undefined;
  let node: string | undefined;
  let time: number | undefined;
  while (!r.done) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        flow = decodeFlow(r, memo, uuids);
        break;
      case (2 << 3) | LEN:
        status = nodeStatus(r);
        break;
      case (3 << 3) | LEN:
        lost = lostEvent(r);
        break;
      case (1000 << 3) | LEN:
        node = r.string();
        break;
      case (1001 << 3) | LEN:
        time = timeMs(timestamp(r));
        break;
      default:
        r.skip(tag & 7);
    }
  }
  if (flow) {
    const out: DecodedResponse = { kind: "flow", flow };
    if (node) out.node = node;
    if (time !== undefined) out.time = time;
    return out;
  }
  if (lost) {
    const record: LostEventsRecord = { ...lost };
    if (node) record.node = node;
    if (time !== undefined) record.time = time;
    return { kind: "lost", lost: record };
  }
  if (status) return time !== undefined ? { kind: "node_status", status, time } : { kind: "node_status", status };
  return { kind: "other" };
}

/** One GetFlowsResponse to a source record, with the same rules as a file line. */
export function responseToRecord(
  buf: Buffer,
  start = 0,
  end = buf.length,
  memo?: EndpointMemo,
  uuids = true,
): SourceRecord {
  let decoded: DecodedResponse;
  try {
    decoded = decodeResponse(buf, start, end, memo, uuids);
  } catch (err) {
    return { kind: "bad", reason: `malformed GetFlowsResponse: ${(err as Error).message}` };
  }
  const node = decoded.kind === "flow" ? decoded.node : decoded.kind === "lost" ? decoded.lost.node : undefined;
  if (node !== undefined && !isNodeName(node))
    return { kind: "bad", reason: `node_name ${shown(node)} is not a node name` };
  switch (decoded.kind) {
    case "flow": {
      const result: Flow | string = hubbleFlowToModel(decoded.flow, decoded.node, decoded.time, memo);
      return typeof result === "string" ? { kind: "bad", reason: result } : { kind: "flow", flow: result };
    }
    case "lost":
      return { kind: "lost", lost: decoded.lost };
    case "node_status":
      return { kind: "skip", what: "node_status" };
    default:
      return { kind: "skip", what: "unknown response" };
  }
}
