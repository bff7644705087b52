/**
 * The service dependency graph: workloads, platform entities and external peers, with the
 * connections observed between them (initiator to target; replies are never edges).
 */

import type { CountWindow } from "../model/edge-hours.js";

export interface Selector {
  matchLabels: Record<string, string>;
  /** True when the labels select exactly this workload's known pods in its namespace. */
  exact: boolean;
  /** Other workloads in the namespace these labels also select (fallback only). */
  alsoSelects: string[];
  /** Why the selector is a fallback, in words; undefined when exact. */
  fallbackReason?: string;
}

export interface WorkloadNode {
  type: "workload";
  /** `namespace/kind/name`. */
  id: string;
  namespace: string;
  kind: string;
  name: string;
  pods: string[];
  /** Distinct label sets of the workload's pods (latest labels per pod). */
  podLabelSets: Array<Record<string, string>>;
  serviceAccounts: string[];
  selector: Selector;
  /** Policies are generated for this workload's namespace. */
  inScope: boolean;
  flows: number;
  first: number;
  last: number;
}

/** host and remote-node collapse into `nodes`; the others keep Hubble's reserved name. */
export type EntityName = "nodes" | "kube-apiserver" | "health" | "ingress" | "init" | "unmanaged";

export interface EntityNode {
  type: "entity";
  /** `entity:<name>`. */
  id: string;
  entity: EntityName | string;
  /** The reserved identities the source reported (`host`, `remote-node` for `nodes`), sorted. */
  seenAs: string[];
  ips: string[];
  flows: number;
  first: number;
  last: number;
}

export interface ExternalNode {
  type: "external";
  /** `ip:<address>`. */
  id: string;
  ip: string;
  dnsNames: string[];
  /** The source did not identify it (Hubble's unknown identity); flowpol treats it as an IP peer. */
  unidentified: boolean;
  flows: number;
  first: number;
  last: number;
}

export type GraphNode = WorkloadNode | EntityNode | ExternalNode;

export interface GraphEdge {
  from: string;
  to: string;
  protocol: string;
  port: number;
  count: number;
  first: number;
  last: number;
  /** Verdicts the flows had (forwarded, audit, redirected; or dropped/error for denied edges). */
  verdicts: string[];
  systems: string[];
  dropReasons: string[];
}

export type SharedRole = "dns" | "api-server" | "callee" | "caller";

export interface SharedService {
  /** DNS-1123 name, used in policy names: `allow-egress-to-<name>`. */
  name: string;
  role: SharedRole;
  description: string;
  /** `catalog` (templates/shared-services.yaml or --catalog) or `detected` from the flows. */
  origin: "catalog" | "detected";
  nodes: string[];
  /** Ports the exception opens: protocol/port pairs, sorted. Empty: the observed ports. */
  ports: Array<{ protocol: string; port: number }>;
}

export interface GraphWarning {
  code: string;
  message: string;
}

/**
 * The store's edge records (what `flowpol stats` counts as edges: one per source, destination,
 * protocol, port, verdict and source system) and where each went: into a connection shown, or left
 * out and why. A connection shown merges several records (verdicts, sources, host and remote-node).
 */
export interface EdgeRecordAccount {
  /** Records in the store (when the reader says; else those it read). */
  stored: number;
  /** Records behind the connections shown (allowed, denied, to a named peer). */
  shown: number;
  /** Connections shown. */
  connections: number;
  outsideWindow: number;
  noEndInScope: number;
  /** An end with neither identity nor address. */
  noPeer: number;
  /** A verdict that is neither allowed nor dropped (e.g. traced), or dropped on the way to a named peer. */
  otherVerdict: number;
  /** Records of allowed connections below --min-flows. */
  belowMinFlows: number;
  /** The window counted (whole hours), when one was asked for: counts are its flows. */
  window?: CountWindow;
}

export interface DependencyGraph {
  /** Where the store's edge records went. */
  records: EdgeRecordAccount;
  nodes: Map<string, GraphNode>;
  /** Connections that reached their target, merged per (from, to, protocol, port), sorted. */
  allowed: GraphEdge[];
  /** Connections dropped today ("denied today"), kept apart, sorted. */
  denied: GraphEdge[];
  shared: SharedService[];
  /** Namespaces that get policies, sorted. */
  namespaces: string[];
  namespaceLabels: Map<string, Record<string, string>>;
  warnings: GraphWarning[];
  /** Allowed connections left out by --min-flows. */
  belowMinFlows: number;
  /**
   * Allowed connections of in-scope workloads with a peer the source named but gave no address
   * (Calico `pub`/`pvt` once IPs are aggregated away, Goldmane, NetworkSets): no ipBlock can say
   * them. The peer is `peer:<Kind>/<name>` (`peer:<namespace>/NetworkSet/<name>`), not a node.
   */
  unaddressed: GraphEdge[];
}

export const edgeKey = (e: Pick<GraphEdge, "from" | "to" | "protocol" | "port">): string =>
  `${e.from}>${e.to}>${e.protocol}>${e.port}`;

export function compareEdges(a: GraphEdge, b: GraphEdge): number {
  return cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.protocol, b.protocol) || a.port - b.port;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
