import { InternalError } from "../errors.js";
import { cmp, type DependencyGraph, edgeKey, type GraphEdge, type GraphNode } from "../graph/index.js";
import type { Protocol } from "../policy/conn-set.js";
import { type Endpoint, PolicyEngine } from "../policy/engine.js";
import { parseCidr } from "../policy/ip-range.js";
import type { NetworkPolicy } from "../policy/types.js";
import { parseNetworkPolicy } from "../policy/validate.js";
import { hostCidr } from "./cidr.js";
import { PURPOSE_LABEL } from "./manifests.js";
import type { PolicyPlan } from "./model.js";

/**
 * The proof, on the policy engine (`src/policy`, networking.k8s.io/v1 semantics): replaying the
 * observed connections through the generated policies allows every one of them, and no other
 * pair of known workloads and ports is allowed except through a named shared-service exception.
 */

/** A generated object in networking.k8s.io/v1 form (any flavor's plan has one). */
export interface NetworkPolicyObject {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
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
  const namespaces = [...graph.namespaceLabels].map(([name, labels]) => ({ name, labels }));
  const parsed = policies.map((p) => {
    const { policy, issues } = parseNetworkPolicy(p, p.metadata.namespace);
    if (!policy || issues.length > 0) {
      throw new InternalError(
        `generated policy ${p.metadata.namespace}/${p.metadata.name} is invalid: ${JSON.stringify(issues)}`,
      );
    }
    return { policy, purpose: p.metadata.labels?.[PURPOSE_LABEL] };
  });
  const all = new PolicyEngine(
    parsed.map((p) => p.policy),
    namespaces,
  );
  const perFlowOnly = new PolicyEngine(
    parsed.filter((p) => p.purpose !== "shared" && p.purpose !== "dns").map((p) => p.policy) as NetworkPolicy[],
    namespaces,
  );
  const endpoints = new Map<string, Endpoint[]>();
  const endpointsOf = (id: string) => {
    let list = endpoints.get(id);
    if (!list) {
      list = toEndpoints(graph.nodes.get(id));
      endpoints.set(id, list);
    }
    return list;
  };
  const allows = (engine: PolicyEngine, s: Endpoint, d: Endpoint, protocol: string, port: number) =>
    engine.decide(s, d, protocol as Protocol, port).allowed;
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
  const allowsEvery = (ev: PolicyEngine, e: Pick<GraphEdge, "from" | "to" | "protocol" | "port">) =>
    endpointsOf(e.from).every((s) => endpointsOf(e.to).every((d) => allows(ev, s, d, e.protocol, e.port)));
  const allowsAny = (ev: PolicyEngine, e: Pick<GraphEdge, "from" | "to" | "protocol" | "port">) =>
    endpointsOf(e.from).some((s) => endpointsOf(e.to).some((d) => allows(ev, s, d, e.protocol, e.port)));
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

/** A node as the engine sees it: each distinct label set of a workload's pods, or each IP. */
function toEndpoints(n: GraphNode | undefined): Endpoint[] {
  if (!n) return [];
  if (n.type === "workload") {
    const sets = n.podLabelSets.length > 0 ? n.podLabelSets : [{}];
    return sets.map((labels) => ({ kind: "pod", pod: { namespace: n.namespace, labels } }));
  }
  const ips = n.type === "entity" ? n.ips : [n.ip];
  return ips.flatMap((ip) => {
    const range = parseCidr(hostCidr(ip));
    return range ? [{ kind: "ip", range } as Endpoint] : [];
  });
}
