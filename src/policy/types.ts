import type { Protocol } from "./conn-set.js";

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

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IpBlock;
}

export interface PolicyPort {
  protocol?: Protocol;
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
  protocol: Protocol;
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

/** The label every namespace carries automatically since Kubernetes 1.21. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

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
