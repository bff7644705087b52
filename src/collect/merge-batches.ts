import {
  BAD_LINES_KEPT_PER_BATCH,
  type Batch,
  type Contribution,
  type EdgeAggregate,
  type EndpointRef,
  emptyFlowIds,
  endpointKey,
  type FlowIds,
  type FlowIdsDraft,
  type PodAggregate,
  replacesLabels,
  type SeenSpan,
  type ServiceAggregate,
  sealFlowIds,
} from "../model/batch.js";
import { copyHours, mergeHours } from "../model/edge-hours.js";

/**
 * Folds many batches into one, so the store sees one upsert per distinct edge per flush instead
 * of one per chunk. Same merge rules as the store: counts add, first/last widen, the latest
 * labels win.
 *
 * Each batch's entries are placed in the merged arrays as they are added (first-seen order), so
 * the flow uuids' contributions are re-indexed at once, without keeping keys. Endpoints get a
 * number per merger: the keys of edges and services name them by it, not by their long key.
 */
export class BatchMerger {
  private flows = 0;
  private replies = 0;
  private skipped = 0;
  private bad = 0;
  private readonly badLines: Batch["badLines"] = [];
  private readonly lost: Batch["lost"] = [];
  private readonly endpoints = new Entries<string, Batch["endpoints"][number]>();
  private readonly namespaces = new Entries<string, Batch["namespaces"][number]>();
  private readonly pods = new Entries<string, PodAggregate>();
  private readonly edges = new Entries<string, EdgeAggregate>();
  private readonly dnsNames = new Entries<string, Batch["dnsNames"][number]>();
  private readonly services = new Entries<string, ServiceAggregate>();
  /** A number per distinct endpoint named by the merged batches (`endpointNumber`). */
  private readonly endpointNumbers = new Map<string, number>();
  private batches = 0;
  private readonly flowIds = new MergedFlowIds();

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
    // A batch names one endpoint by one ref object (structured clone keeps shared references).
    const numbers = new Map<EndpointRef, number>();
    const number = (ref: EndpointRef) => this.endpointNumber(ref, numbers);
    const endpointAt = batch.endpoints.map((e) => mergeSpan(this.endpoints, endpointKey(e.ref), e));
    for (const ns of batch.namespaces) {
      const key = `${ns.cluster}|${ns.name}`;
      const known = this.namespaces.get(key);
      if (!known) this.namespaces.add(key, { ...ns });
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
      if (!known) this.pods.add(key, { ...p });
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
    const edgeAt = batch.edges.map((e) => {
      const key = `${number(e.src)}>${number(e.dst)}>${e.protocol}>${e.port}>${e.verdict}>${e.system}`;
      const at = this.edges.indexOf(key);
      if (at === undefined) return this.edges.add(key, { ...e, policies: { ...e.policies }, ...copyHours(e) });
      const known = this.edges.items[at] as EdgeAggregate;
      // Counts of one-end reports (Calico `reporter`) add per end; the edge counts the larger.
      mergeHours(known, e);
      const reportedBefore = Math.max(known.srcReported, known.dstReported) + Math.max(e.srcReported, e.dstReported);
      known.srcReported += e.srcReported;
      known.dstReported += e.dstReported;
      widen(known, e);
      known.count += Math.max(known.srcReported, known.dstReported) - reportedBefore;
      if (e.dropReason) known.dropReason = e.dropReason;
      for (const [p, n] of Object.entries(e.policies)) known.policies[p] = (known.policies[p] ?? 0) + n;
      return at;
    });
    const dnsAt = batch.dnsNames.map((d) => mergeSpan(this.dnsNames, `${d.ip}|${d.name}`, d));
    const serviceAt = batch.services.map((s) =>
      mergeSpan(this.services, `${s.namespace}/${s.name}>${number(s.endpoint)}>${s.protocol}>${s.port}`, s),
    );
    if (batch.flowIds) this.flowIds.add(batch.flowIds, { endpointAt, edgeAt, dnsAt, serviceAt });
  }

  /** The number of an endpoint in this merger: its key is built once per ref object. */
  private endpointNumber(ref: EndpointRef, known: Map<EndpointRef, number>): number {
    let n = known.get(ref);
    if (n !== undefined) return n;
    const key = endpointKey(ref);
    n = this.endpointNumbers.get(key);
    if (n === undefined) {
      n = this.endpointNumbers.size;
      this.endpointNumbers.set(key, n);
    }
    known.set(ref, n);
    return n;
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
      endpoints: this.endpoints.take(),
      namespaces: this.namespaces.take(),
      pods: this.pods.take(),
      edges: this.edges.take(),
      dnsNames: this.dnsNames.take(),
      services: this.services.take(),
    };
    const flowIds = this.flowIds.take();
    if (flowIds) batch.flowIds = flowIds;
    this.flows = this.replies = this.skipped = this.bad = this.batches = 0;
    this.endpointNumbers.clear();
    return batch;
  }
}

/** Merged entries in first-seen order, found by key. */
class Entries<K, T> {
  items: T[] = [];
  private readonly at = new Map<K, number>();

  indexOf(key: K): number | undefined {
    return this.at.get(key);
  }

  get(key: K): T | undefined {
    const i = this.at.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  /** Adds a new entry; returns its index. */
  add(key: K, item: T): number {
    const i = this.items.length;
    this.items.push(item);
    this.at.set(key, i);
    return i;
  }

  take(): T[] {
    const items = this.items;
    this.items = [];
    this.at.clear();
    return items;
  }
}

function widen(known: SeenSpan, next: SeenSpan): void {
  known.first = Math.min(known.first, next.first);
  known.last = Math.max(known.last, next.last);
  known.count += next.count;
}

/** Merges a span entry; returns its index in the merged entries. */
function mergeSpan<T extends SeenSpan>(entries: Entries<string, T>, key: string, item: T): number {
  const at = entries.indexOf(key);
  if (at === undefined) return entries.add(key, { ...item });
  widen(entries.items[at] as T, item);
  return at;
}

/** Where each entry of one batch went in the merged arrays. */
interface Placement {
  endpointAt: number[];
  edgeAt: number[];
  dnsAt: number[];
  serviceAt: number[];
}

/** The flow uuids of the merged batches, their contributions indexing the merged arrays. */
class MergedFlowIds {
  private ids: FlowIdsDraft = emptyFlowIds();

  add(ids: FlowIds, at: Placement): void {
    const offset = this.ids.contributions.length;
    const index = (where: number[], i: number) => (i === -1 ? -1 : (where[i] ?? -1));
    for (const c of ids.contributions) {
      this.ids.contributions.push({
        src: index(at.endpointAt, c.src),
        dst: index(at.endpointAt, c.dst),
        edge: index(at.edgeAt, c.edge),
        service: index(at.serviceAt, c.service),
        dnsNames:
          c.dnsNames.length === 0
            ? c.dnsNames
            : c.dnsNames.flatMap((d) => (at.dnsAt[d] === undefined ? [] : [at.dnsAt[d]])),
        policies: c.policies,
      } satisfies Contribution);
    }
    const into = this.ids;
    for (let i = 0; i < ids.uuids.length; i++) {
      into.uuids.push(ids.uuids[i] as string);
      into.times.push(ids.times[i] as number);
      into.counts.push(ids.counts[i] as number);
      into.parts.push((ids.parts[i] as number) + offset);
    }
  }

  take(): FlowIds | undefined {
    const ids = this.ids;
    this.ids = emptyFlowIds();
    return ids.uuids.length > 0 ? sealFlowIds(ids) : undefined;
  }
}
