import {
  BAD_LINES_KEPT_PER_BATCH,
  type Batch,
  type EdgeAggregate,
  endpointKey,
  type PodAggregate,
  replacesLabels,
  type SeenSpan,
  type ServiceAggregate,
} from "../model/batch.js";

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

  get size(): number {
    return this.batches;
  }

  add(batch: Batch): void {
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
      const key = `${endpointKey(e.src)}>${endpointKey(e.dst)}>${e.protocol}>${e.port}>${e.verdict}>${e.system}`;
      const known = this.edges.get(key);
      if (!known) this.edges.set(key, { ...e, policies: { ...e.policies } });
      else {
        // Counts of one-end reports (Calico `reporter`) add per end; the edge counts the larger.
        const reportedBefore = Math.max(known.srcReported, known.dstReported) + Math.max(e.srcReported, e.dstReported);
        known.srcReported += e.srcReported;
        known.dstReported += e.dstReported;
        widen(known, e);
        known.count += Math.max(known.srcReported, known.dstReported) - reportedBefore;
        if (e.dropReason) known.dropReason = e.dropReason;
        for (const [p, n] of Object.entries(e.policies)) known.policies[p] = (known.policies[p] ?? 0) + n;
      }
    }
    for (const d of batch.dnsNames) mergeSpan(this.dnsNames, `${d.ip}|${d.name}`, d);
    for (const s of batch.services) {
      mergeSpan(this.services, `${s.namespace}/${s.name}>${endpointKey(s.endpoint)}>${s.protocol}>${s.port}`, s);
    }
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
