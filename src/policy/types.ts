import type { PolicyProtocol } from "./conn-set.js";

/**
 * The networking.k8s.io/v1 objects the engine reads, as plain data (already parsed from YAML or
 * JSON by the I/O layer), plus the topology it evaluates them over.
 */
export type Labels = Readonly<Record<string, string>>;

export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

export interface LabelSelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface IpBlock {
  cidr: string;
  except?: string[];
}

/**
 * Cilium's reserved identities, usable as peers (fromEntities/toEntities). `world` is every
 * address outside the cluster; `cluster` every pod plus the nodes and Cilium's own identities.
 */
export const ENTITIES = [
  "all",
  "cluster",
  "health",
  "host",
  "ingress",
  "init",
  "kube-apiserver",
  "remote-node",
  "unmanaged",
  "world",
  "world-ipv4",
  "world-ipv6",
] as const;
export type Entity = (typeof ENTITIES)[number];

/** Cilium toFQDNs: a DNS name, or a pattern where `*` stands for any run of name characters. */
export interface FqdnSelector {
  matchName?: string;
  matchPattern?: string;
}

/**
 * One peer. A NetworkPolicy sets podSelector/namespaceSelector or ipBlock; the other fields
 * come only from CiliumNetworkPolicy (see cilium-policy.ts) and exactly one is set per peer.
 */
export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IpBlock;
  /** Peers by reserved identity (Cilium fromEntities/toEntities). */
  entities?: Entity[];
  /** An address block outside the cluster (Cilium toCIDR/toCIDRSet): never a pod or a node. */
  worldBlock?: IpBlock;
  /** Destinations whose observed DNS names match (Cilium toFQDNs). */
  fqdn?: FqdnSelector;
}

export interface PolicyPort {
  protocol?: PolicyProtocol;
  port?: number | string;
  endPort?: number;
}

export interface IngressRule {
  from?: PolicyPeer[];
  ports?: PolicyPort[];
}

export interface EgressRule {
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}

export type PolicyType = "Ingress" | "Egress";

/** Where an object came from: file and 0-based document index, and the line when known. */
export interface SourceRef {
  file: string;
  document: number;
  line?: number;
}

export interface NetworkPolicy {
  /** The kind it was read from when not a networking.k8s.io/v1 NetworkPolicy. */
  kind?: "CiliumNetworkPolicy" | "StagedKubernetesNetworkPolicy";
  name: string;
  namespace: string;
  podSelector: LabelSelector;
  policyTypes?: PolicyType[];
  ingress?: IngressRule[];
  egress?: EgressRule[];
  source?: SourceRef;
  /** metadata.labels (string values only): how a policy says who wrote it and why. */
  labels?: Labels;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: PolicyProtocol;
}

/**
 * A pod, or a workload standing for all its pods (Deployment, StatefulSet...): what a policy can
 * see of it. `ips` are the pod IPs when known (Kubernetes matches ipBlocks against them).
 */
export interface Pod {
  namespace: string;
  labels: Labels;
  ips?: readonly string[];
  ports?: readonly ContainerPort[];
}

export interface Namespace {
  name: string;
  labels: Labels;
}

export { NAMESPACE_NAME_LABEL } from "../model/labels.js";

/** A rule of a policy, identified for reporting: `ns/name` ingress rule #index (0-based). */
export interface RuleRef {
  policy: string;
  namespace: string;
  direction: "ingress" | "egress";
  index: number;
}

export function ruleRefToString(r: RuleRef): string {
  return `${r.namespace}/${r.policy} ${r.direction}[${r.index}]`;
}
