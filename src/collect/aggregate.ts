import { ALLOWED_VERDICTS, type Flow, type FlowEndpoint, IDENTITY_KIND } from "../model/flow.js";
import { flowRole } from "../model/initiator.js";
import type { LostEventsRecord } from "./record.js";

/**
 * Pre-aggregation of flows into what the store keeps: endpoints, pods, edges, DNS names, service
 * backends. Workers aggregate a chunk of lines into one `Batch`, which crosses threads by
 * structured clone, and the store applies it in one transaction. Memory grows with distinct
 * edges, not with flows.
 */

export type EndpointType = "workload" | "entity" | "external" | "unknown";

export interface EndpointRef {
  type: EndpointType;
  namespace: string;
  kind: string;
  name: string;
  ip: string;
}

export interface SeenSpan {
  first: number;
  last: number;
  count: number;
}

export interface EdgeAggregate extends SeenSpan {
  src: EndpointRef;
  dst: EndpointRef;
  protocol: string;
  port: number;
  verdict: string;
  system: string;
  dropReason: string;
  policies: Record<string, number>;
  /**
   * Connections reported by the source end and by the destination end (Calico `reporter`). `count`
   * includes only the larger of the two, so a connection both ends report counts once.
   */
  srcReported: number;
  dstReported: number;
}

export interface PodAggregate {
  namespace: string;
  name: string;
  endpoint: EndpointRef;
  labels: string;
  serviceAccount: string;
  first: number;
  last: number;
}

export interface ServiceAggregate extends SeenSpan {
  namespace: string;
  name: string;
  endpoint: EndpointRef;
  protocol: string;
  port: number;
}

export interface Batch {
  flows: number;
  replies: number;
  skipped: number;
  bad: number;
  badLines: Array<{ line: number; reason: string }>;
  lost: LostEventsRecord[];
  endpoints: Array<{ ref: EndpointRef } & SeenSpan>;
  namespaces: Array<{ name: string; labels: string; first: number; last: number }>;
  pods: PodAggregate[];
  edges: EdgeAggregate[];
  dnsNames: Array<{ ip: string; name: string } & SeenSpan>;
  services: ServiceAggregate[];
}

/** Keeps the first few bad lines of a chunk with their reasons; all are counted. */
export const BAD_LINES_KEPT_PER_BATCH = 20;

export function endpointRef(ep: FlowEndpoint): EndpointRef {
  if (ep.workload && ep.namespace) {
    return { type: "workload", namespace: ep.namespace, kind: ep.workload.kind, name: ep.workload.name, ip: "" };
  }
  if (ep.entity && ep.entity !== "world") {
    return { type: "entity", namespace: "", kind: "", name: ep.entity, ip: ep.ip ?? "" };
  }
  if (ep.entity === "world") {
    if (ep.peer) {
      const namespace = ep.peer.kind === "NetworkSet" ? (ep.namespace ?? "") : "";
      return { type: "external", namespace, kind: ep.peer.kind, name: ep.peer.name, ip: "" };
    }
    return { type: "external", namespace: "", kind: "", name: "", ip: ep.ip ?? "" };
  }
  return { type: "unknown", namespace: ep.namespace ?? "", kind: "", name: "", ip: ep.ip ?? "" };
}

export function endpointKey(ref: EndpointRef): string {
  return `${ref.type}|${ref.namespace}|${ref.kind}|${ref.name}|${ref.ip}`;
}

const canonicalCache = new WeakMap<Record<string, string>, string>();

/** canonicalLabels, memoized per label object (decoders share label objects between flows). */
function canonicalLabelsCached(labels: Record<string, string>): string {
  let text = canonicalCache.get(labels);
  if (text === undefined) {
    text = canonicalLabels(labels);
    canonicalCache.set(labels, text);
  }
  return text;
}

/** JSON with sorted keys: label sets compare and store byte-identically. */
export function canonicalLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = labels[k] as string;
  return JSON.stringify(out);
}

function widen(span: SeenSpan, time: number, count: number): void {
  if (time < span.first) span.first = time;
  if (time > span.last) span.last = time;
  span.count += count;
}

/** Adds a one-end report to an edge: `count` grows only when this end now has the larger total. */
function countReported(edge: EdgeAggregate, reporter: "src" | "dst", time: number, count: number): void {
  const before = Math.max(edge.srcReported, edge.dstReported);
  if (reporter === "src") edge.srcReported += count;
  else edge.dstReported += count;
  widen(edge, time, Math.max(edge.srcReported, edge.dstReported) - before);
}

export class BatchBuilder {
  flows = 0;
  replies = 0;
  skipped = 0;
  bad = 0;
  private readonly badLines: Array<{ line: number; reason: string }> = [];
  private readonly lost: LostEventsRecord[] = [];
  private readonly endpoints = new Map<string, { ref: EndpointRef } & SeenSpan>();
  private readonly namespaces = new Map<string, { name: string; labels: string; first: number; last: number }>();
  private readonly pods = new Map<string, PodAggregate>();
  private readonly edges = new Map<string, EdgeAggregate>();
  private readonly dnsNames = new Map<string, { ip: string; name: string } & SeenSpan>();
  private readonly services = new Map<string, ServiceAggregate>();

  get isEmpty(): boolean {
    return this.flows === 0 && this.skipped === 0 && this.bad === 0 && this.lost.length === 0;
  }

  addBad(line: number, reason: string): void {
    this.bad++;
    if (this.badLines.length < BAD_LINES_KEPT_PER_BATCH) this.badLines.push({ line, reason });
  }

  addSkipped(): void {
    this.skipped++;
  }

  addLost(lost: LostEventsRecord): void {
    this.lost.push(lost);
  }

  addFlow(flow: Flow): void {
    this.flows += flow.count;
    const src = this.observeEndpoint(flow.source, flow.time, flow.count);
    const dst = this.observeEndpoint(flow.destination, flow.time, flow.count);
    this.observeDnsNames(flow);
    if (flowRole(flow) === "reply") {
      this.replies += flow.count;
      return;
    }
    const port = flow.protocol === "ICMPv4" || flow.protocol === "ICMPv6" ? 0 : (flow.destinationPort ?? 0);
    const key = `${endpointKey(src)}>${endpointKey(dst)}>${flow.protocol}>${port}>${flow.verdict}>${flow.sourceSystem}`;
    let edge = this.edges.get(key);
    if (!edge) {
      edge = {
        src,
        dst,
        protocol: flow.protocol,
        port,
        verdict: flow.verdict,
        system: flow.sourceSystem,
        dropReason: "",
        policies: {},
        first: flow.time,
        last: flow.time,
        count: 0,
        srcReported: 0,
        dstReported: 0,
      };
      this.edges.set(key, edge);
    }
    if (flow.reporter) countReported(edge, flow.reporter, flow.time, flow.count);
    else widen(edge, flow.time, flow.count);
    if (flow.dropReason) edge.dropReason = flow.dropReason;
    if (flow.policies) {
      for (const p of flow.policies) edge.policies[p] = (edge.policies[p] ?? 0) + flow.count;
    }
    const svc = flow.destination.service;
    if (svc && ALLOWED_VERDICTS.has(flow.verdict) && dst.type === "workload") {
      const skey = `${svc.namespace}/${svc.name}>${endpointKey(dst)}>${flow.protocol}>${port}`;
      let s = this.services.get(skey);
      if (!s) {
        s = { ...svc, endpoint: dst, protocol: flow.protocol, port, first: flow.time, last: flow.time, count: 0 };
        this.services.set(skey, s);
      }
      widen(s, flow.time, flow.count);
    }
  }

  private readonly endpointKeys = new WeakMap<FlowEndpoint, { ref: EndpointRef; key: string }>();

  private observeEndpoint(ep: FlowEndpoint, time: number, count: number): EndpointRef {
    let memo = this.endpointKeys.get(ep);
    if (!memo) {
      const ref = endpointRef(ep);
      memo = { ref, key: endpointKey(ref) };
      this.endpointKeys.set(ep, memo);
    }
    const probe = memo.ref;
    const key = memo.key;
    const known = this.endpoints.get(key);
    let ref: EndpointRef;
    if (known) {
      widen(known, time, count);
      ref = known.ref;
    } else {
      ref = probe;
      this.endpoints.set(key, { ref, first: time, last: time, count });
    }
    if (ep.namespace) {
      const ns = this.namespaces.get(ep.namespace);
      if (!ns) {
        const labels = canonicalLabelsCached(ep.namespaceLabels);
        this.namespaces.set(ep.namespace, {
          name: ep.namespace,
          labels: labels === "{}" ? "" : labels,
          first: time,
          last: time,
        });
      } else {
        if (time < ns.first) ns.first = time;
        if (time >= ns.last) {
          ns.last = time;
          const labels = canonicalLabelsCached(ep.namespaceLabels);
          if (labels !== "{}") ns.labels = labels;
        }
      }
    }
    // A peer known only by identity labels keeps its label set as a pseudo-pod named after the
    // identity, so the graph can compute and merge selectors from it.
    const podName = ep.podName ?? (ref.kind === IDENTITY_KIND ? `identity-${ep.identity ?? 0}` : undefined);
    if (podName && ep.namespace && ref.type === "workload") {
      const pkey = `${ep.namespace}/${podName}`;
      const pod = this.pods.get(pkey);
      if (!pod) {
        this.pods.set(pkey, {
          namespace: ep.namespace,
          name: podName,
          endpoint: ref,
          labels: canonicalLabelsCached(ep.labels),
          serviceAccount: ep.serviceAccount ?? "",
          first: time,
          last: time,
        });
      } else {
        if (time < pod.first) pod.first = time;
        if (time >= pod.last) {
          pod.last = time;
          pod.labels = canonicalLabelsCached(ep.labels);
        }
      }
    }
    return ref;
  }

  private observeDnsNames(flow: Flow): void {
    const add = (ip: string | undefined, name: string) => {
      if (!ip) return;
      const key = `${ip}|${name}`;
      const known = this.dnsNames.get(key);
      if (known) widen(known, flow.time, 1);
      else this.dnsNames.set(key, { ip, name, first: flow.time, last: flow.time, count: 1 });
    };
    for (const name of flow.source.dnsNames) add(flow.source.ip, name);
    for (const name of flow.destination.dnsNames) add(flow.destination.ip, name);
    if (flow.dnsAnswer) for (const ip of flow.dnsAnswer.ips) add(ip, flow.dnsAnswer.query);
  }

  build(): Batch {
    return {
      flows: this.flows,
      replies: this.replies,
      skipped: this.skipped,
      bad: this.bad,
      badLines: this.badLines,
      lost: this.lost,
      endpoints: [...this.endpoints.values()],
      namespaces: [...this.namespaces.values()],
      pods: [...this.pods.values()],
      edges: [...this.edges.values()],
      dnsNames: [...this.dnsNames.values()],
      services: [...this.services.values()],
    };
  }
}
