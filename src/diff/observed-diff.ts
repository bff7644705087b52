import type { CountWindow } from "../model/edge-hours.js";
import { effectivePolicyTypes } from "../policy/compile.js";
import { type DirectionVerdict, type Endpoint, ipEndpoint, PolicyEngine } from "../policy/engine.js";
import { type Topology, topologyWorkloadId } from "../policy/objects.js";
import { isEmptySelector } from "../policy/selector.js";
import type { Namespace, NetworkPolicy, Pod, RuleRef } from "../policy/types.js";
import { type ConnectionStatus, judgeConnection } from "../policy/verdict.js";
import { generatedException } from "../synth/manifests.js";
import type { Observed, ObservedEdge, ObservedPeer } from "./observed.js";

/**
 * Observed traffic against declared NetworkPolicies (Kubernetes semantics): for every observed
 * edge, whether the policies allow it (and by which rules), would deny it, or leave it unprotected
 * (no policy isolates either side); for every declared rule, how much traffic uses it; per
 * namespace, coverage. Pure.
 */
export type EdgeStatus = ConnectionStatus;

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
  /** The purpose of a named exception flowpol generated (dns, shared): kept even when unused. */
  exception?: string;
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
  /** The window the observed flows are of (Observed's). */
  window?: CountWindow;
}

export interface DiffInput {
  observed: Observed;
  policies: readonly NetworkPolicy[];
  /** Namespace manifests (their labels win over the store's). */
  namespaces?: readonly Namespace[];
  /** Container ports of workloads from manifests, by `ns/name[Kind]` id, to resolve named ports. */
  workloadPorts?: ReadonlyMap<string, Pod["ports"]>;
}

/**
 * A policy folder as the diff reads it: its NetworkPolicies, its Namespace manifests and the
 * container ports of its workloads. `flowpol diff`, the report and the rollout all judge with it.
 */
export function diffInput(
  observed: Observed,
  topology: Pick<Topology, "policies" | "namespaces" | "workloads">,
): DiffInput {
  const workloadPorts = new Map<string, Pod["ports"]>();
  for (const w of topology.workloads)
    if (w.pod.ports && w.pod.ports.length > 0) workloadPorts.set(topologyWorkloadId(w), w.pod.ports);
  return { observed, policies: topology.policies, namespaces: topology.namespaces, workloadPorts };
}

const ruleKey = (r: RuleRef) => `${r.namespace}/${r.policy}/${r.direction}/${r.index}`;

export function diffObserved(input: DiffInput): ObservedDiff {
  const namespaces = new Map<string, Namespace>();
  for (const n of input.observed.namespaces) namespaces.set(n.name, n);
  for (const n of input.namespaces ?? []) namespaces.set(n.name, n);
  const engine = new PolicyEngine(input.policies, [...namespaces.values()], { semantics: "kubernetes" });

  const endpoints = new Map<ObservedPeer, Endpoint[]>();
  const endpointOf = (peer: ObservedPeer): Endpoint[] => {
    let e = endpoints.get(peer);
    if (!e) {
      e = peerEndpoints(peer, input.workloadPorts);
      endpoints.set(peer, e);
    }
    return e;
  };

  const usage = new Map<string, RuleUsage>();
  for (const p of input.policies) {
    const types = effectivePolicyTypes(p);
    const exception = generatedException(p.labels);
    for (const [direction, rules] of [
      ["ingress", types.includes("Ingress") ? (p.ingress ?? []) : []],
      ["egress", types.includes("Egress") ? (p.egress ?? []) : []],
    ] as const) {
      rules.forEach((_r, index) => {
        const ref: RuleRef = { policy: p.name, namespace: p.namespace, direction, index };
        usage.set(ruleKey(ref), { ref, edges: 0, flows: 0, ...(exception ? { exception } : {}) });
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
    const result = judgeEdge(engine, edge, endpointOf);
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
    ...(input.observed.window ? { window: input.observed.window } : {}),
  };
}

/** The engine's endpoints for an observed peer: a workload stands for each of its label sets. */
export function peerEndpoints(peer: ObservedPeer, workloadPorts?: ReadonlyMap<string, Pod["ports"]>): Endpoint[] {
  if (peer.kind === "workload") {
    const ports = workloadPorts?.get(peer.id);
    return peer.pods.map((pod) => ({ kind: "pod", pod: ports ? { ...pod, ports } : pod }) as Endpoint);
  }
  if (peer.kind === "ip") {
    const ip = ipEndpoint(peer.ip);
    return [
      ip?.kind === "ip"
        ? {
            ...ip,
            ...(peer.entity !== undefined ? { entity: peer.entity } : {}),
            ...(peer.dnsNames ? { dnsNames: peer.dnsNames } : {}),
          }
        : (ip ?? { kind: "unknown" }),
    ];
  }
  return [{ kind: "unknown" }];
}

/** The one verdict (src/policy/verdict.ts), on a stored edge. */
export function judgeEdge(
  engine: PolicyEngine,
  edge: ObservedEdge,
  endpointOf: (p: ObservedPeer) => Endpoint[],
): EdgeResult {
  const fromNode = edge.src.kind === "ip" && edge.src.localNode === true && edge.dst.kind === "workload";
  const v = judgeConnection(engine, {
    src: endpointOf(edge.src),
    dst: endpointOf(edge.dst),
    protocol: edge.protocol,
    port: edge.port,
    fromNode,
  });
  return { edge, status: v.status, egress: v.egress, ingress: v.ingress, deniedBy: v.deniedBy, fromNode };
}

function coverage(
  input: DiffInput,
  engine: PolicyEngine,
  edges: EdgeResult[],
  endpointOf: (p: ObservedPeer) => Endpoint[],
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
    const selected = endpointOf(w).some((e) => {
      if (e.kind !== "pod") return false;
      const sel = engine.selecting(e.pod);
      return sel.ingress.length > 0 || sel.egress.length > 0;
    });
    if (selected) c.selectedWorkloads++;
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

/** Rules nothing observed uses, except flowpol's own named exceptions (those are meant to wait). */
export function unusedRules(d: Pick<ObservedDiff, "rules">): RuleUsage[] {
  return d.rules.filter((r) => r.flows === 0 && r.exception === undefined);
}
