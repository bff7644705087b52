/**
 * GraphInput: the plain data the graph and synthesis stages read, loaded from the store by
 * `src/store/read-graph.ts` (or built in code by tests and benchmarks). No I/O types here.
 *
 * Times are milliseconds since the Unix epoch. Endpoint ids are the store's ids; they only need to
 * be unique within one GraphInput.
 */

import type { EndpointType } from "../model/batch.js";
import type { CountWindow } from "../model/edge-hours.js";

export interface EndpointRecord {
  id: number;
  type: EndpointType;
  /** Workloads: their namespace. Others: usually "". */
  namespace: string;
  /** Workloads: owner kind (Deployment, StatefulSet, DaemonSet, CronJob, Job, Pod...). */
  kind: string;
  /** Workloads: owner name. Entities: the reserved entity (host, remote-node, kube-apiserver...). */
  name: string;
  /** Entities, external and unknown peers: the IP seen. */
  ip: string;
  first: number;
  last: number;
  flows: number;
}

export interface PodRecord {
  namespace: string;
  name: string;
  endpointId: number;
  labels: Record<string, string>;
  serviceAccount: string;
  first: number;
  last: number;
}

export interface NamespaceRecord {
  name: string;
  labels: Record<string, string>;
}

export interface EdgeRecord {
  srcId: number;
  dstId: number;
  protocol: string;
  /** Destination port; 0 for ICMP. */
  port: number;
  verdict: string;
  system: string;
  count: number;
  first: number;
  last: number;
  dropReason: string;
}

export interface DnsNameRecord {
  ip: string;
  name: string;
  count: number;
  first: number;
  last: number;
}

export interface ServiceRecord {
  namespace: string;
  name: string;
  endpointId: number;
  protocol: string;
  port: number;
  count: number;
}

/** Which part of the store a command looks at. */
export interface Scope {
  /** Only these namespaces get policies (empty: every namespace not excluded). */
  namespaces: string[];
  /** These namespaces never get policies (their flows to and from in-scope namespaces still count). */
  excludeNamespaces: string[];
  /** Only flows since this time count (the reader rounds it down to a whole hour). */
  since?: number;
  /** Only flows until this time count (the reader rounds it up to a whole hour). */
  until?: number;
  /** Allowed edges with fewer flows than this (summed over verdicts and sources) are left out. */
  minFlows: number;
}

/** Namespaces excluded unless the user names them with --namespace or overrides --exclude-namespace. */
export const DEFAULT_EXCLUDED_NAMESPACES: readonly string[] = [
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "calico-system",
  "calico-apiserver",
  "tigera-operator",
  "cilium-system",
];

export function defaultScope(): Scope {
  return { namespaces: [], excludeNamespaces: [...DEFAULT_EXCLUDED_NAMESPACES], minFlows: 1 };
}

/** True when policies are generated for this namespace. */
export function inScope(scope: Scope, namespace: string): boolean {
  if (!namespace) return false;
  if (scope.namespaces.length > 0 && !scope.namespaces.includes(namespace)) return false;
  return !scope.excludeNamespaces.includes(namespace);
}

/**
 * What a graph input holds beside its edges: the namespaces its edges touch, and in-scope
 * namespaces with a workload seen in the window; the endpoints of its edges and the workloads of
 * those namespaces. Both store readers build their GraphInput with it.
 */
export function scopedEndpoints(
  scope: Scope,
  allEndpoints: EndpointRecord[],
  edges: ReadonlyArray<{ srcId: number; dstId: number }>,
  window: { since: number; until: number },
): { namespaces: Set<string>; endpoints: EndpointRecord[] } {
  const byId = new Map(allEndpoints.map((e) => [e.id, e]));
  const used = new Set<number>();
  for (const e of edges) {
    used.add(e.srcId);
    used.add(e.dstId);
  }
  const namespaces = new Set<string>();
  for (const id of used) {
    const e = byId.get(id);
    if (e?.type === "workload" && e.namespace) namespaces.add(e.namespace);
  }
  for (const e of allEndpoints) {
    const seen = e.last >= window.since && e.first <= window.until;
    if (e.type === "workload" && seen && inScope(scope, e.namespace)) namespaces.add(e.namespace);
  }
  const endpoints = allEndpoints.filter(
    (e) => used.has(e.id) || (e.type === "workload" && namespaces.has(e.namespace)),
  );
  return { namespaces, endpoints };
}

/** Edge records of the store a reader left out for a scope (the graph says why it shows fewer than `flowpol stats`). */
export interface LeftOut {
  /** No flow inside the window (--since/--until). */
  outsideWindow: number;
  /** Neither end is a workload in a namespace that gets policies (node to world, excluded namespaces). */
  noEndInScope: number;
}

export interface GraphInput {
  scope: Scope;
  leftOut?: LeftOut;
  /** The window the reader counted (the scope's, rounded out to whole hours); absent: all time. */
  window?: CountWindow;
  endpoints: EndpointRecord[];
  pods: PodRecord[];
  namespaces: NamespaceRecord[];
  edges: EdgeRecord[];
  dnsNames: DnsNameRecord[];
  services: ServiceRecord[];
}
