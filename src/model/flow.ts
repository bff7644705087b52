/**
 * The normalized flow record. Every collector (Hubble files and gRPC, Calico flow logs and
 * Goldmane) produces this shape; everything downstream reads only this shape.
 */

export const VERDICTS = ["forwarded", "dropped", "audit", "redirected", "error", "unknown"] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Verdicts of flows that reached their target: these make allow edges. */
export const ALLOWED_VERDICTS: ReadonlySet<Verdict> = new Set(["forwarded", "audit", "redirected"]);

export const PROTOCOLS = ["TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6", "other"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export type TrafficDirection = "ingress" | "egress" | "unknown";

/** Hubble's reserved identities that flowpol distinguishes (see hubble-formats.md §4). */
export const RESERVED_ENTITIES = [
  "world",
  "host",
  "remote-node",
  "kube-apiserver",
  "health",
  "ingress",
  "unmanaged",
  "init",
] as const;
export type ReservedEntity = (typeof RESERVED_ENTITIES)[number];

export type SourceSystem = "hubble" | "calico";

export interface WorkloadRef {
  /** Owner kind: Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, Pod, ... */
  kind: string;
  name: string;
}

export interface ServiceRef {
  namespace: string;
  name: string;
}

export interface FlowEndpoint {
  ip?: string;
  /** The Kubernetes cluster of the endpoint (Hubble `cluster_name`), when the record names it. */
  cluster?: string;
  namespace?: string;
  podName?: string;
  /**
   * Pods named by an aggregated name (Calico `name_aggr` and Goldmane: `frontend-755cdc7957-*`),
   * when the source names no single pod. Their labels stand for the workload as a pod's would.
   */
  podGroup?: string;
  workload?: WorkloadRef;
  /**
   * Pod labels without the `k8s:` source prefix and without Cilium's internal labels. Empty when
   * the source did not say (Calico `null` labels, a reserved identity): an empty set never
   * replaces a known one.
   */
  labels: Record<string, string>;
  /** Labels of the pod's namespace, kept apart from the pod's own labels. */
  namespaceLabels: Record<string, string>;
  /** Set when the peer is one of the reserved identities rather than a pod. */
  entity?: ReservedEntity;
  /** DNS names seen for this peer (Hubble `*_names`, DNS answers, Calico `dest_domains`). */
  dnsNames: string[];
  service?: ServiceRef;
  serviceAccount?: string;
  /** The CNI's numeric security identity, when known. */
  identity?: number;
  /**
   * An external peer the source identified by name rather than by IP: a Calico (Global)NetworkSet,
   * or a Calico `pub`/`pvt` network whose IP was aggregated away. Only set with entity `world`.
   */
  peer?: NamedPeer;
  /**
   * Why labels of the record were left out (not valid Kubernetes label syntax): reported with
   * every line that carries this endpoint, whose flow is kept without them.
   */
  droppedLabels?: string;
}

/** A peer known by name rather than by IP (Calico). */
export interface NamedPeer {
  /** `NetworkSet` (namespaced, see the endpoint's namespace), `GlobalNetworkSet`, or `Network` (pub/pvt). */
  kind: "NetworkSet" | "GlobalNetworkSet" | "Network";
  name: string;
}

/**
 * The kind given to a peer known only by its identity labels (Hubble reports labels and namespace
 * but no pod name, e.g. for some remote or SNATed endpoints). The graph merges such a peer into
 * the real workload whose pods carry exactly these labels.
 */
export const IDENTITY_KIND = "Identity";

export interface TcpFlags {
  SYN?: boolean;
  ACK?: boolean;
  FIN?: boolean;
  RST?: boolean;
  PSH?: boolean;
  URG?: boolean;
}

export interface Flow {
  /** Milliseconds since the Unix epoch. */
  time: number;
  /** The Kubernetes cluster the record names (Calico `cluster`), if any; see `flowCluster`. */
  cluster?: string;
  node?: string;
  uuid?: string;
  verdict: Verdict;
  dropReason?: string;
  direction: TrafficDirection;
  /** true: a reply; false: a request; undefined: unknown. */
  isReply: boolean | undefined;
  /** Hubble `trace_reason`: NEW, ESTABLISHED, REPLY, REOPENED, SRV6_*; upper case. */
  traceReason?: string;
  protocol: Protocol;
  sourcePort?: number;
  destinationPort?: number;
  tcpFlags?: TcpFlags;
  /** ICMP type, for ICMPv4/ICMPv6. */
  icmpType?: number;
  source: FlowEndpoint;
  destination: FlowEndpoint;
  sourceSystem: SourceSystem;
  /** How many connections this record stands for (Calico aggregates; Hubble is always 1). */
  count: number;
  /**
   * Policy provenance (Calico `policies`), one canonical string per policy hit:
   * `<trace>|<tier>|<Kind>:<namespace>/<name>|<action>|<rule>` (docs/design.md "Calico").
   */
  policies?: string[];
  /**
   * Which end reported the record, for sources that report a connection at both ends (Calico
   * `reporter`). Edges count such a connection once: the larger of the two ends' counts.
   */
  reporter?: "src" | "dst";
  /** Hubble L7 DNS answer: the name queried and the IPs it resolved to. */
  dnsAnswer?: { query: string; ips: string[] };
}

export function emptyEndpoint(): FlowEndpoint {
  return { labels: {}, namespaceLabels: {}, dnsNames: [] };
}

/** Whether a parsed JSON value is a TCP flags object: flag names to booleans. */
export function isTcpFlags(value: unknown): value is TcpFlags {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  for (const flag of Object.values(value)) if (typeof flag !== "boolean") return false;
  return true;
}

/**
 * The cluster a flow is stored under, when no `--cluster` names it: the record's own, else the
 * cluster of the end that observed it (the destination of an ingress flow, else the source), else
 * the other end's. A flow between two clusters is kept by each observing end in its own cluster,
 * so each cluster's policies see their side.
 */
export function flowCluster(flow: Flow): string | undefined {
  if (flow.cluster) return flow.cluster;
  const observer = flow.direction === "ingress" ? flow.destination : flow.source;
  return observer.cluster ?? flow.source.cluster ?? flow.destination.cluster;
}
