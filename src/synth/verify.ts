import { cmp, type DependencyGraph, edgeKey, type GraphEdge, type GraphNode } from "../graph/index.js";
import { cidrContains } from "./cidr.js";
import { NAMESPACE_NAME_LABEL, PURPOSE_LABEL } from "./manifests.js";
import type { PolicyPlan } from "./model.js";

/**
 * A small NetworkPolicy evaluator for flowpol's own output (networking.k8s.io/v1 semantics, the
 * subset synthesis emits: matchLabels, matchExpressions, ipBlock without except, numeric ports),
 * and the proof built on it: replaying the observed connections through the generated
 * policies allows every one of them, and no other pair of known workloads and ports is
 * allowed except through a named shared-service exception.
 */

type Labels = Record<string, string>;
interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: Array<{ protocol?: string; port?: number | string; endPort?: number }>;
}
export interface NetworkPolicyObject {
  metadata: { name: string; namespace: string; labels?: Labels };
  spec: { podSelector: LabelSelector; policyTypes?: string[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}

export type Party = { kind: "pod"; namespace: string; labels: Labels } | { kind: "ip"; ip: string };

export class PolicyEvaluator {
  private readonly byNamespace = new Map<string, NetworkPolicyObject[]>();

  constructor(
    policies: NetworkPolicyObject[],
    private readonly namespaceLabels: (ns: string) => Labels,
  ) {
    for (const p of policies) {
      const list = this.byNamespace.get(p.metadata.namespace) ?? [];
      list.push(p);
      this.byNamespace.set(p.metadata.namespace, list);
    }
  }

  allows(src: Party, dst: Party, protocol: string, port: number): boolean {
    return this.side(src, dst, protocol, port, "Egress") && this.side(dst, src, protocol, port, "Ingress");
  }

  private side(subject: Party, peer: Party, protocol: string, port: number, type: "Ingress" | "Egress"): boolean {
    if (subject.kind !== "pod") return true;
    const applying = (this.byNamespace.get(subject.namespace) ?? []).filter(
      (p) => policyTypes(p).includes(type) && selects(p.spec.podSelector, subject.labels),
    );
    if (applying.length === 0) return true;
    for (const p of applying) {
      const rules = (type === "Ingress" ? p.spec.ingress : p.spec.egress) ?? [];
      for (const r of rules) {
        const peers = (type === "Ingress" ? r.from : r.to) ?? [];
        const peerOk = peers.length === 0 || peers.some((x) => this.peerMatches(x, peer, p.metadata.namespace));
        if (peerOk && portMatches(r.ports, protocol, port)) return true;
      }
    }
    return false;
  }

  private peerMatches(peer: PolicyPeer, party: Party, policyNamespace: string): boolean {
    if (peer.ipBlock) {
      if (party.kind !== "ip") return false;
      if (!cidrContains(peer.ipBlock.cidr, party.ip)) return false;
      return !(peer.ipBlock.except ?? []).some((c) => cidrContains(c, party.ip));
    }
    if (party.kind !== "pod") return false;
    if (peer.namespaceSelector) {
      const labels = { ...this.namespaceLabels(party.namespace), [NAMESPACE_NAME_LABEL]: party.namespace };
      if (!selects(peer.namespaceSelector, labels)) return false;
    } else if (party.namespace !== policyNamespace) return false;
    return peer.podSelector ? selects(peer.podSelector, party.labels) : true;
  }
}

function policyTypes(p: NetworkPolicyObject): string[] {
  if (p.spec.policyTypes && p.spec.policyTypes.length > 0) return p.spec.policyTypes;
  return p.spec.egress ? ["Ingress", "Egress"] : ["Ingress"];
}

export function selects(selector: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === "Exists"
        ? has
        : e.operator === "DoesNotExist"
          ? !has
          : e.operator === "In"
            ? has && (e.values ?? []).includes(value as string)
            : e.operator === "NotIn"
              ? !has || !(e.values ?? []).includes(value as string)
              : false;
    if (!ok) return false;
  }
  return true;
}

function portMatches(ports: PolicyRule["ports"], protocol: string, port: number): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== protocol) return false;
    if (p.port === undefined) return true;
    const from = Number(p.port);
    return port >= from && port <= (p.endPort ?? from);
  });
}

// ---- the proof ----

export interface ProofFailure {
  from: string;
  to: string;
  protocol: string;
  port: number;
}

export interface ProofReport {
  /** Observed allowed connections replayed (those synthesis meant to allow). */
  observed: number;
  allowedObserved: number;
  /** Observed connections a generated policy fails to allow: must be empty. */
  missed: ProofFailure[];
  /** Observed connections deliberately not allowed (ICMP, metadata address, unselectable pods). */
  excludedByDesign: number;
  /** Pairs of known workloads and ports that were not observed, checked for denial. */
  unobservedPairsChecked: number;
  /** Unobserved pairs allowed only by a named shared-service or DNS exception. */
  allowedBySharedException: number;
  /** Unobserved pairs allowed by a per-flow policy: must be empty. */
  overPermissive: ProofFailure[];
  /** Set when the unobserved-pair check was skipped because it was too large. */
  skipped?: string;
}

/** Pair checks beyond this are skipped (the check is quadratic in workloads). */
export const MAX_PAIR_CHECKS = 4_000_000;

export function proveCoverage(graph: DependencyGraph, plan: PolicyPlan, policies: NetworkPolicyObject[]): ProofReport {
  const nsLabels = (ns: string) => graph.namespaceLabels.get(ns) ?? {};
  const all = new PolicyEvaluator(policies, nsLabels);
  const perFlowOnly = new PolicyEvaluator(
    policies.filter((p) => {
      const purpose = p.metadata.labels?.[PURPOSE_LABEL];
      return purpose !== "shared" && purpose !== "dns";
    }),
    nsLabels,
  );
  const byDesign = new Set(plan.notAllowed.map((n) => edgeKey(n.edge)));
  const report: ProofReport = {
    observed: 0,
    allowedObserved: 0,
    missed: [],
    excludedByDesign: 0,
    unobservedPairsChecked: 0,
    allowedBySharedException: 0,
    overPermissive: [],
  };
  const allowsEvery = (ev: PolicyEvaluator, e: Pick<GraphEdge, "from" | "to" | "protocol" | "port">) => {
    const srcs = parties(graph.nodes.get(e.from));
    const dsts = parties(graph.nodes.get(e.to));
    return srcs.every((s) => dsts.every((d) => ev.allows(s, d, e.protocol, e.port)));
  };
  const allowsAny = (ev: PolicyEvaluator, e: Pick<GraphEdge, "from" | "to" | "protocol" | "port">) => {
    const srcs = parties(graph.nodes.get(e.from));
    const dsts = parties(graph.nodes.get(e.to));
    return srcs.some((s) => dsts.some((d) => ev.allows(s, d, e.protocol, e.port)));
  };
  for (const e of graph.allowed) {
    if (byDesign.has(edgeKey(e))) {
      report.excludedByDesign++;
      continue;
    }
    report.observed++;
    if (allowsEvery(all, e)) report.allowedObserved++;
    else report.missed.push({ from: e.from, to: e.to, protocol: e.protocol, port: e.port });
  }

  const workloads = [...graph.nodes.values()].filter((n) => n.type === "workload").sort((a, b) => cmp(a.id, b.id));
  const observed = new Set(graph.allowed.map(edgeKey));
  const portsTo = new Map<string, Array<{ protocol: string; port: number }>>();
  for (const e of graph.allowed) {
    if (graph.nodes.get(e.to)?.type !== "workload" || e.port < 1) continue;
    const list = portsTo.get(e.to) ?? [];
    if (!list.some((p) => p.protocol === e.protocol && p.port === e.port))
      list.push({ protocol: e.protocol, port: e.port });
    portsTo.set(e.to, list);
  }
  let budget = 0;
  for (const ports of portsTo.values()) budget += ports.length * workloads.length;
  if (budget > MAX_PAIR_CHECKS) {
    report.skipped = `${budget} pair checks exceed the limit of ${MAX_PAIR_CHECKS}; check a narrower --namespace scope`;
    return report;
  }
  for (const b of workloads) {
    const ports = portsTo.get(b.id) ?? [];
    for (const a of workloads) {
      if (!(a.type === "workload" && b.type === "workload" && (a.inScope || b.inScope))) continue;
      for (const p of ports) {
        const e = { from: a.id, to: b.id, protocol: p.protocol, port: p.port };
        if (observed.has(edgeKey(e))) continue;
        report.unobservedPairsChecked++;
        if (!allowsAny(all, e)) continue;
        if (allowsAny(perFlowOnly, e)) report.overPermissive.push(e);
        else report.allowedBySharedException++;
      }
    }
  }
  return report;
}

function parties(n: GraphNode | undefined): Party[] {
  if (!n) return [];
  if (n.type === "workload") {
    const sets = n.podLabelSets.length > 0 ? n.podLabelSets : [{}];
    return sets.map((labels) => ({ kind: "pod", namespace: n.namespace, labels }));
  }
  if (n.type === "entity") return n.ips.map((ip) => ({ kind: "ip", ip }));
  return [{ kind: "ip", ip: n.ip }];
}
