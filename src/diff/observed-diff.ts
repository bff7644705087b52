import { effectivePolicyTypes } from "../policy/compile.js";
import { isProtocol, type Protocol } from "../policy/conn-set.js";
import { type DirectionVerdict, type Endpoint, ipEndpoint, PolicyEngine } from "../policy/engine.js";
import { isEmptySelector } from "../policy/selector.js";
import type { Namespace, NetworkPolicy, Pod, RuleRef } from "../policy/types.js";
import type { Observed, ObservedEdge, ObservedPeer } from "./observed.js";

/**
 * Observed traffic against declared NetworkPolicies (Kubernetes semantics): for every observed
 * edge, whether the policies allow it (and by which rules), would deny it, or leave it unprotected
 * (no policy isolates either side); for every declared rule, how much traffic uses it; per
 * namespace, coverage. Pure.
 */
export type EdgeStatus = "allowed" | "denied" | "unprotected";

export interface EdgeResult {
  edge: ObservedEdge;
  status: EdgeStatus;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  /** The sides that deny it: egress of the source, ingress of the destination. */
  deniedBy: Array<"egress" | "ingress">;
  /** From the destination pod's own node: Kubernetes always allows it, whatever the policies. */
  fromNode: boolean;
}

export interface RuleUsage {
  ref: RuleRef;
  edges: number;
  flows: number;
}

export interface NamespaceCoverage {
  namespace: string;
  defaultDenyIngress: boolean;
  defaultDenyEgress: boolean;
  workloads: number;
  selectedWorkloads: number;
  flows: number;
  allowedFlows: number;
  unprotectedFlows: number;
  deniedFlows: number;
}

export interface ObservedDiff {
  edges: EdgeResult[];
  rules: RuleUsage[];
  namespaces: NamespaceCoverage[];
  totals: Record<EdgeStatus, { edges: number; flows: number }>;
  droppedEdges: number;
}

export interface DiffInput {
  observed: Observed;
  policies: readonly NetworkPolicy[];
  /** Namespace manifests (their labels win over the store's). */
  namespaces?: readonly Namespace[];
  /** Container ports of workloads from manifests, by `ns/name[Kind]` id, to resolve named ports. */
  workloadPorts?: ReadonlyMap<string, Pod["ports"]>;
}

const ruleKey = (r: RuleRef) => `${r.namespace}/${r.policy}/${r.direction}/${r.index}`;

export function diffObserved(input: DiffInput): ObservedDiff {
  const namespaces = new Map<string, Namespace>();
  for (const n of input.observed.namespaces) namespaces.set(n.name, n);
  for (const n of input.namespaces ?? []) namespaces.set(n.name, n);
  const engine = new PolicyEngine(input.policies, [...namespaces.values()], { semantics: "kubernetes" });

  const endpoints = new Map<ObservedPeer, Endpoint>();
  const endpointOf = (peer: ObservedPeer): Endpoint => {
    let e = endpoints.get(peer);
    if (!e) {
      if (peer.kind === "workload") {
        const ports = input.workloadPorts?.get(peer.id);
        e = { kind: "pod", pod: ports ? { ...peer.pod, ports } : peer.pod };
      } else if (peer.kind === "ip") {
        const ip = ipEndpoint(peer.ip);
        e =
          ip?.kind === "ip"
            ? {
                ...ip,
                ...(peer.entity !== undefined ? { entity: peer.entity } : {}),
                ...(peer.dnsNames ? { dnsNames: peer.dnsNames } : {}),
              }
            : { kind: "unknown" };
      } else e = { kind: "unknown" };
      endpoints.set(peer, e);
    }
    return e;
  };

  const usage = new Map<string, RuleUsage>();
  for (const p of input.policies) {
    const types = effectivePolicyTypes(p);
    for (const [direction, rules] of [
      ["ingress", types.includes("Ingress") ? (p.ingress ?? []) : []],
      ["egress", types.includes("Egress") ? (p.egress ?? []) : []],
    ] as const) {
      rules.forEach((_r, index) => {
        const ref: RuleRef = { policy: p.name, namespace: p.namespace, direction, index };
        usage.set(ruleKey(ref), { ref, edges: 0, flows: 0 });
      });
    }
  }

  const totals: ObservedDiff["totals"] = {
    allowed: { edges: 0, flows: 0 },
    denied: { edges: 0, flows: 0 },
    unprotected: { edges: 0, flows: 0 },
  };
  const edges: EdgeResult[] = [];
  for (const edge of input.observed.edges) {
    const result = judge(engine, edge, endpointOf(edge.src), endpointOf(edge.dst));
    edges.push(result);
    totals[result.status].edges++;
    totals[result.status].flows += edge.flows;
    // A rule is used when it matches observed traffic, even if the other side denies that traffic.
    for (const ref of [...result.egress.rules, ...result.ingress.rules]) {
      const u = usage.get(ruleKey(ref));
      if (u) {
        u.edges++;
        u.flows += edge.flows;
      }
    }
  }

  return {
    edges: edges.sort(compareResults),
    rules: [...usage.values()].sort((a, b) => compare(ruleKey(a.ref), ruleKey(b.ref)) || a.ref.index - b.ref.index),
    namespaces: coverage(input, engine, edges, endpointOf),
    totals,
    droppedEdges: input.observed.droppedEdges,
  };
}

function judge(engine: PolicyEngine, edge: ObservedEdge, src: Endpoint, dst: Endpoint): EdgeResult {
  if (!isProtocol(edge.protocol)) {
    // NetworkPolicy can only allow TCP, UDP and SCTP: other protocols pass only where nothing isolates.
    const egress = { isolated: src.kind === "pod" && engine.selecting(src.pod).egress.length > 0, rules: [] };
    const ingress = { isolated: dst.kind === "pod" && engine.selecting(dst.pod).ingress.length > 0, rules: [] };
    const deniedBy = [
      ...(egress.isolated ? ["egress" as const] : []),
      ...(ingress.isolated ? ["ingress" as const] : []),
    ];
    return { edge, status: deniedBy.length > 0 ? "denied" : "unprotected", egress, ingress, deniedBy, fromNode: false };
  }
  const v = engine.decide(src, dst, edge.protocol as Protocol, edge.port);
  const fromNode = edge.src.kind === "ip" && edge.src.localNode === true && dst.kind === "pod";
  const deniedBy: Array<"egress" | "ingress"> = [];
  if (v.egress.isolated && v.egress.rules.length === 0) deniedBy.push("egress");
  if (v.ingress.isolated && v.ingress.rules.length === 0 && !fromNode) deniedBy.push("ingress");
  const status: EdgeStatus =
    deniedBy.length > 0 ? "denied" : v.egress.isolated || v.ingress.isolated ? "allowed" : "unprotected";
  return { edge, status, egress: v.egress, ingress: v.ingress, deniedBy, fromNode };
}

function coverage(
  input: DiffInput,
  engine: PolicyEngine,
  edges: EdgeResult[],
  endpointOf: (p: ObservedPeer) => Endpoint,
): NamespaceCoverage[] {
  const byNs = new Map<string, NamespaceCoverage>();
  const get = (ns: string) => {
    let c = byNs.get(ns);
    if (!c) {
      c = {
        namespace: ns,
        defaultDenyIngress: false,
        defaultDenyEgress: false,
        workloads: 0,
        selectedWorkloads: 0,
        flows: 0,
        allowedFlows: 0,
        unprotectedFlows: 0,
        deniedFlows: 0,
      };
      byNs.set(ns, c);
    }
    return c;
  };
  for (const p of input.policies) {
    const c = get(p.namespace);
    // A default deny isolates every pod of the namespace: podSelector {}.
    if (!isEmptySelector(p.podSelector)) continue;
    const types = effectivePolicyTypes(p);
    if (types.includes("Ingress")) c.defaultDenyIngress = true;
    if (types.includes("Egress")) c.defaultDenyEgress = true;
  }
  for (const w of input.observed.workloads) {
    const c = get(w.namespace);
    c.workloads++;
    const e = endpointOf(w);
    const sel = e.kind === "pod" ? engine.selecting(e.pod) : { ingress: [], egress: [] };
    if (sel.ingress.length > 0 || sel.egress.length > 0) c.selectedWorkloads++;
  }
  for (const r of edges) {
    const nss = new Set(
      [r.edge.src, r.edge.dst].filter((p) => p.kind === "workload").map((p) => (p as { namespace: string }).namespace),
    );
    for (const ns of nss) {
      const c = get(ns);
      c.flows += r.edge.flows;
      if (r.status === "allowed") c.allowedFlows += r.edge.flows;
      else if (r.status === "denied") c.deniedFlows += r.edge.flows;
      else c.unprotectedFlows += r.edge.flows;
    }
  }
  return [...byNs.values()].sort((a, b) => compare(a.namespace, b.namespace));
}

const STATUS_ORDER: Record<EdgeStatus, number> = { denied: 0, allowed: 1, unprotected: 2 };

function compareResults(a: EdgeResult, b: EdgeResult): number {
  return (
    STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
    compare(a.edge.src.id, b.edge.src.id) ||
    compare(a.edge.dst.id, b.edge.dst.id) ||
    compare(a.edge.protocol, b.edge.protocol) ||
    a.edge.port - b.edge.port
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
