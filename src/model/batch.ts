/**
 * The batch contract between collectors and the store: pre-aggregated flows, as the store keeps
 * them (endpoints, pods, edges, DNS names, service backends) with the counts of what was read.
 * Workers fold a chunk of lines into one `Batch`, which crosses threads by structured clone; a
 * store applies it exactly once. Memory grows with distinct edges, not with flows.
 *
 * Every aggregate is a commutative monoid: counts add, first-seen takes the minimum, last-seen the
 * maximum, and the newest label set wins (`replacesLabels`).
 */

/** The cluster of flows whose source names none and no `--cluster` was given (Cilium's default name). */
export const DEFAULT_CLUSTER = "default";

/** A loss the source reported (Hubble LostEvents): flows that never reached flowpol. */
export interface LostEventsRecord {
  source: string;
  lost: number;
  node?: string;
  time?: number;
}

export type EndpointType = "workload" | "entity" | "external" | "unknown";

/**
 * An endpoint's identity in the store. `cluster` is the Kubernetes cluster of the flow that named
 * it (docs/design.md, "Clusters"): the same namespace and workload in two clusters are two endpoints.
 */
export interface EndpointRef {
  cluster: string;
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
  /**
   * The same counts by hour of the flows' own times (model/edge-hours.ts). Absent: the hour of
   * these flows is not known, and the store keeps them as of an unknown hour.
   */
  hours?: HourCount[];
}

/** An edge's flows in one hour (`floor(time / 3600000)`), counted as the edge counts them. */
export interface HourCount extends SeenSpan {
  hour: number;
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

export interface NamespaceAggregate {
  cluster: string;
  name: string;
  labels: string;
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
  namespaces: NamespaceAggregate[];
  pods: PodAggregate[];
  edges: EdgeAggregate[];
  dnsNames: Array<{ ip: string; name: string } & SeenSpan>;
  services: ServiceAggregate[];
  /** The flows of the batch that carry a uuid (Hubble), to drop repeats of stored flows. */
  flowIds?: FlowIds;
}

/**
 * What each flow with a uuid added to its batch, so a flow found stored already can be taken out
 * again (`withoutFlows`). Parallel arrays, one entry per flow; `parts[i]` indexes `contributions`.
 * The numbers are typed arrays: a batch crosses threads by structured clone, which copies a typed
 * array as one block but a plain array element by element, into boxed numbers on the receiving
 * heap (on high-churn traffic, 2-3% of ingest CPU and about 20 MB of peak RSS).
 */
export interface FlowIds {
  uuids: string[];
  times: Float64Array;
  counts: Float64Array;
  parts: Int32Array;
  contributions: Contribution[];
}

/** FlowIds while they grow: plain arrays, sealed into FlowIds once (`sealFlowIds`). */
export interface FlowIdsDraft {
  uuids: string[];
  times: number[];
  counts: number[];
  parts: number[];
  contributions: Contribution[];
}

export function emptyFlowIds(contributions: Contribution[] = []): FlowIdsDraft {
  return { uuids: [], times: [], counts: [], parts: [], contributions };
}

export function sealFlowIds(draft: FlowIdsDraft): FlowIds {
  return {
    uuids: draft.uuids,
    times: Float64Array.from(draft.times),
    counts: Float64Array.from(draft.counts),
    parts: Int32Array.from(draft.parts),
    contributions: draft.contributions,
  };
}

/** The counters one flow adds to: indexes into the batch's arrays (-1: none). */
export interface Contribution {
  /** Indexes into `endpoints`. */
  src: number;
  dst: number;
  /** Into `edges`; -1 for a reply, which counts only as a reply. */
  edge: number;
  /** Into `services`. */
  service: number;
  /** Into `dnsNames`. */
  dnsNames: number[];
  policies: string[];
}

/** What a batch adds to the counts of what was read (the ingest log's). */
export function batchCounts(batch: Batch): {
  flows: number;
  replies: number;
  skipped: number;
  bad: number;
  lost: number;
} {
  return {
    flows: batch.flows,
    replies: batch.replies,
    skipped: batch.skipped,
    bad: batch.bad,
    lost: batch.lost.reduce((n, l) => n + l.lost, 0),
  };
}

/** Keeps the first few bad lines of a chunk with their reasons; all are counted. */
export const BAD_LINES_KEPT_PER_BATCH = 20;

export function endpointKey(ref: EndpointRef): string {
  return `${ref.cluster}|${ref.type}|${ref.namespace}|${ref.kind}|${ref.name}|${ref.ip}`;
}

/** JSON with sorted keys: label sets compare and store byte-identically. */
export function canonicalLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = labels[k] as string;
  return JSON.stringify(out);
}

/**
 * Whether a pod's label set seen now replaces the one kept: the newer set wins, but an empty set
 * (the source did not say) never replaces a known one. The store's upsert applies the same rule.
 */
export function replacesLabels(kept: string, seen: string, newer: boolean): boolean {
  if (seen === "{}" || seen === "") return kept === "";
  return newer || kept === "{}" || kept === "";
}
