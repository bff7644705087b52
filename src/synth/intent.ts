import type { GraphEdge } from "../graph/index.js";

/**
 * The flavor-neutral policy plan: what synthesis decides, before it becomes Kubernetes,
 * Cilium or Calico objects.
 */

export type Flavor = "kubernetes" | "cilium" | "calico-staged";
export const FLAVORS: readonly Flavor[] = ["kubernetes", "cilium", "calico-staged"];

export interface PortRef {
  protocol: "TCP" | "UDP" | "SCTP";
  port: number;
}

/** Pods selected by labels, in the policy's own namespace or (namespace set) in another one. */
export interface PodPeer {
  kind: "pods";
  /** Undefined: the policy's own namespace. */
  namespace?: string;
  podSelector: Record<string, string>;
}

/** Every pod of the namespaces that carry a `kubernetes.io/metadata.name` label (all namespaces). */
export interface AllNamespacesPeer {
  kind: "all-namespaces";
  podSelector: Record<string, string>;
}

/** An address block, with what it stands for. */
export interface IpPeer {
  kind: "ip";
  cidr: string;
  /** What the block is: a node, the API server, an external peer (world). */
  entity: "nodes" | "kube-apiserver" | "world" | "link-local-dns" | "other";
  /** DNS names observed for the addresses inside (external peers). */
  dnsNames: string[];
  /** Nodes: the reserved identities they were seen as (`host`, `remote-node`), for the cilium flavor. */
  seenAs?: string[];
  /** Addresses inside `cidr` that stay denied (cloud metadata inside a widened block). */
  except?: string[];
}

export type Peer = PodPeer | AllNamespacesPeer | IpPeer;

export interface Rule {
  peers: Peer[];
  ports: PortRef[];
}

export type PolicyPurpose = "default-deny" | "dns" | "shared" | "flow";

export interface PolicyIntent {
  name: string;
  namespace: string;
  purpose: PolicyPurpose;
  /** One line saying why the policy exists (EVIDENCE.md, annotations). */
  description: string;
  /** Shared-service name for `shared`/`dns` policies. */
  sharedService?: string;
  /** Pods the policy applies to; {} = every pod of the namespace. */
  podSelector: Record<string, string>;
  ingress?: Rule[];
  egress?: Rule[];
  /** The observed connections this policy allows (empty for default-deny). */
  evidence: GraphEdge[];
}

export interface SynthOptions {
  flavor: Flavor;
  /** IPv4 prefix external addresses are widened to (32 = exact). */
  cidrPrefixV4: number;
  /** IPv6 prefix external addresses are widened to (128 = exact). */
  cidrPrefixV6: number;
  /** Node address blocks used instead of the observed node IPs for host/probe traffic. */
  nodeCidrs: string[];
  /** Allow egress to the cloud metadata address 169.254.169.254 when observed. */
  allowMetadata: boolean;
  /** Allow a prefix of 0 (0.0.0.0/0, ::/0). */
  allowAnyAddress: boolean;
}

export function defaultSynthOptions(): SynthOptions {
  return {
    flavor: "kubernetes",
    cidrPrefixV4: 32,
    cidrPrefixV6: 128,
    nodeCidrs: [],
    allowMetadata: false,
    allowAnyAddress: false,
  };
}

export interface SynthNotice {
  code: string;
  namespace?: string;
  message: string;
}

/** Connections flowpol saw but deliberately did not allow, with the reason. */
export interface NotAllowed {
  edge: GraphEdge;
  reason: string;
}

export interface NamespacePlan {
  namespace: string;
  policies: PolicyIntent[];
  /**
   * Directions no policy of the namespace isolates, because isolating them would deny observed
   * connections of a workload no selector picks exactly (no stable labels). Absent when isolated.
   */
  unisolated?: Unisolated[];
}

/** A direction of a namespace left without policies, why, and the connections it keeps open. */
export interface Unisolated {
  direction: "ingress" | "egress";
  reason: string;
  /** The observed connections an isolating policy would deny; empty when the planner saw it coming. */
  connections: string[];
}

export interface PolicyPlan {
  namespaces: NamespacePlan[];
  notAllowed: NotAllowed[];
  notices: SynthNotice[];
}
