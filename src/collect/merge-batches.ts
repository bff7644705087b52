import {
  BAD_LINES_KEPT_PER_BATCH,
  type Batch,
  type Contribution,
  type EdgeAggregate,
  endpointKey,
  type PodAggregate,
  replacesLabels,
  type SeenSpan,
  type ServiceAggregate,
} from "../model/batch.js";
import { copyHours, mergeHours } from "../model/edge-hours.js";

/**
 * Folds many batches into one, so the store sees one upsert per distinct edge per flush instead
 * of one per chunk. Same merge rules as the store: counts add, first/last widen, the latest
 * labels win.
 */
export class BatchMerger {
  private flows = 0;
  private replies = 0;
  private skipped = 0;
  private bad = 0;
  private readonly badLines: Batch["badLines"] = [];
  private readonly lost: Batch["lost"] = [];
  private readonly endpoints = new Map<string, Batch["endpoints"][number]>();
  private readonly namespaces = new Map<string, Batch["namespaces"][number]>();
  private readonly pods = new Map<string, PodAggregate>();
  private readonly edges = new Map<string, EdgeAggregate>();
  private readonly dnsNames = new Map<string, Batch["dnsNames"][number]>();
  private readonly services = new Map<string, ServiceAggregate>();
  private batches = 0;
  /** The merged batches' flow uuids, their contributions named by keys until `take` indexes them. */
  private readonly flowIds = new PendingFlowIds();

  get size(): number {
    return this.batches;
  }

  add(batch: Batch): void {
    if (batch.flowIds) this.flowIds.add(batch);
    this.batches++;
    this.flows += batch.flows;
    this.replies += batch.replies;
    this.skipped += batch.skipped;
    this.bad += batch.bad;
    for (const b of batch.badLines) if (this.badLines.length < BAD_LINES_KEPT_PER_BATCH * 5) this.badLines.push(b);
    this.lost.push(...batch.lost);
    for (const e of batch.endpoints) mergeSpan(this.endpoints, endpointKey(e.ref), e);
    for (const ns of batch.namespaces) {
      const key = `${ns.cluster}|${ns.name}`;
      const known = this.namespaces.get(key);
      if (!known) this.namespaces.set(key, { ...ns });
      else {
        known.first = Math.min(known.first, ns.first);
        if (ns.last >= known.last) {
          known.last = ns.last;
          if (ns.labels) known.labels = ns.labels;
        }
      }
    }
    for (const p of batch.pods) {
      const key = `${p.endpoint.cluster}|${p.namespace}/${p.name}`;
      const known = this.pods.get(key);
      if (!known) this.pods.set(key, { ...p });
      else {
        known.first = Math.min(known.first, p.first);
        const newer = p.last >= known.last;
        if (replacesLabels(known.labels, p.labels, newer)) known.labels = p.labels;
        if (newer) {
          known.last = p.last;
          known.endpoint = p.endpoint;
        }
      }
    }
    for (const e of batch.edges) {
      const key = edgeKey(e);
      const known = this.edges.get(key);
      if (!known) this.edges.set(key, { ...e, policies: { ...e.policies }, ...copyHours(e) });
      else {
        // Counts of one-end reports (Calico `reporter`) add per end; the edge counts the larger.
        mergeHours(known, e);
        const reportedBefore = Math.max(known.srcReported, known.dstReported) + Math.max(e.srcReported, e.dstReported);
        known.srcReported += e.srcReported;
        known.dstReported += e.dstReported;
        widen(known, e);
        known.count += Math.max(known.srcReported, known.dstReported) - reportedBefore;
        if (e.dropReason) known.dropReason = e.dropReason;
        for (const [p, n] of Object.entries(e.policies)) known.policies[p] = (known.policies[p] ?? 0) + n;
      }
    }
    for (const d of batch.dnsNames) mergeSpan(this.dnsNames, dnsNameKey(d), d);
    for (const s of batch.services) mergeSpan(this.services, serviceKey(s), s);
  }

  /** The merged batch; the merger is empty afterwards. */
  take(): Batch {
    const batch: Batch = {
      flows: this.flows,
      replies: this.replies,
      skipped: this.skipped,
      bad: this.bad,
      badLines: this.badLines.splice(0),
      lost: this.lost.splice(0),
      endpoints: [...this.endpoints.values()],
      namespaces: [...this.namespaces.values()],
      pods: [...this.pods.values()],
      edges: [...this.edges.values()],
      dnsNames: [...this.dnsNames.values()],
      services: [...this.services.values()],
    };
    const flowIds = this.flowIds.take({
      endpoints: indexes(this.endpoints),
      edges: indexes(this.edges),
      dnsNames: indexes(this.dnsNames),
      services: indexes(this.services),
    });
    if (flowIds) batch.flowIds = flowIds;
    this.flows = this.replies = this.skipped = this.bad = this.batches = 0;
    for (const map of [this.endpoints, this.namespaces, this.pods, this.edges, this.dnsNames, this.services])
      map.clear();
    return batch;
  }
}

function widen(known: SeenSpan, next: SeenSpan): void {
  known.first = Math.min(known.first, next.first);
  known.last = Math.max(known.last, next.last);
  known.count += next.count;
}

function mergeSpan<T extends SeenSpan>(map: Map<string, T>, key: string, item: T): void {
  const known = map.get(key);
  if (known) widen(known, item);
  else map.set(key, { ...item });
}

const edgeKey = (e: EdgeAggregate) =>
  `${endpointKey(e.src)}>${endpointKey(e.dst)}>${e.protocol}>${e.port}>${e.verdict}>${e.system}`;
const dnsNameKey = (d: Batch["dnsNames"][number]) => `${d.ip}|${d.name}`;
const serviceKey = (s: ServiceAggregate) =>
  `${s.namespace}/${s.name}>${endpointKey(s.endpoint)}>${s.protocol}>${s.port}`;

function indexes(map: Map<string, unknown>): Map<string, number> {
  const at = new Map<string, number>();
  for (const key of map.keys()) at.set(key, at.size);
  return at;
}

/** A contribution (see model/batch.ts) named by the keys of what it counts in, not by indexes. */
interface KeyedContribution {
  src: string;
  dst: string;
  edge: string | undefined;
  service: string | undefined;
  dnsNames: string[];
  policies: string[];
}

/**
 * The flow uuids of the merged batches. Their contributions index each batch's own arrays, so they
 * are kept by key and indexed into the merged arrays when the merged batch is taken.
 */
class PendingFlowIds {
  private uuids: string[] = [];
  private times: number[] = [];
  private counts: number[] = [];
  private parts: number[] = [];
  private contributions: KeyedContribution[] = [];

  add(batch: Batch): void {
    const ids = batch.flowIds;
    if (!ids) return;
    const offset = this.contributions.length;
    for (const c of ids.contributions) this.contributions.push(keyed(batch, c));
    this.uuids.push(...ids.uuids);
    this.times.push(...ids.times);
    this.counts.push(...ids.counts);
    for (const part of ids.parts) this.parts.push(part + offset);
  }

  take(at: Record<"endpoints" | "edges" | "dnsNames" | "services", Map<string, number>>): Batch["flowIds"] {
    if (this.uuids.length === 0) return undefined;
    const index = (map: Map<string, number>, key: string | undefined) =>
      key === undefined ? -1 : (map.get(key) ?? -1);
    const taken = {
      uuids: this.uuids,
      times: this.times,
      counts: this.counts,
      parts: this.parts,
      contributions: this.contributions.map(
        (c): Contribution => ({
          src: index(at.endpoints, c.src),
          dst: index(at.endpoints, c.dst),
          edge: index(at.edges, c.edge),
          service: index(at.services, c.service),
          dnsNames: c.dnsNames.map((d) => index(at.dnsNames, d)),
          policies: c.policies,
        }),
      ),
    };
    this.uuids = [];
    this.times = [];
    this.counts = [];
    this.parts = [];
    this.contributions = [];
    return taken;
  }
}

function keyed(batch: Batch, c: Contribution): KeyedContribution {
  const endpoint = (i: number) => {
    const e = batch.endpoints[i];
    return e ? endpointKey(e.ref) : "";
  };
  const edge = batch.edges[c.edge];
  const service = batch.services[c.service];
  return {
    src: endpoint(c.src),
    dst: endpoint(c.dst),
    edge: edge ? edgeKey(edge) : undefined,
    service: service ? serviceKey(service) : undefined,
    dnsNames: c.dnsNames.flatMap((i) => {
      const d = batch.dnsNames[i];
      return d ? [dnsNameKey(d)] : [];
    }),
    policies: c.policies,
  };
}
