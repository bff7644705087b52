import { effectivePolicyTypes } from "../policy/compile.js";
import { isProtocol } from "../policy/conn-set.js";
import { type Endpoint, ipEndpoint, PolicyEngine } from "../policy/engine.js";
import { type NetworkPolicy, ruleRefToString } from "../policy/types.js";
import type { StoreSnapshot } from "../store/read-report.js";
import { endpointLabel } from "./analyze.js";

/**
 * Replays the stored allowed connections through a set of NetworkPolicies with the policy engine
 * (Kubernetes semantics): which observed connections they would deny, which declared rules no
 * observed connection uses, and per namespace how much they cover. Pure.
 */
export interface ReplayDenied {
  src: string;
  dst: string;
  protocol: string;
  port: number;
  flows: number;
  /** Where it would be stopped. */
  side: "egress" | "ingress" | "egress and ingress";
}

export interface NamespaceCoverage {
  namespace: string;
  /** Every pod of the namespace is isolated for the direction (a policy with an empty podSelector). */
  defaultDenyIngress: boolean;
  defaultDenyEgress: boolean;
  workloads: number;
  selectedIngress: number;
  selectedEgress: number;
  /** Observed connections into (or out of) the namespace's workloads, and how many are allowed. */
  connections: number;
  allowed: number;
}

export interface ReplayResult {
  replayed: number;
  /** Connections not replayed: ICMP and other protocols without ports, peers without an address. */
  skipped: number;
  wouldDeny: ReplayDenied[];
  unusedRules: string[];
  coverage: NamespaceCoverage[];
}

const ALLOWED = new Set(["forwarded", "audit", "redirected"]);

export function replay(
  snapshot: StoreSnapshot,
  policies: readonly NetworkPolicy[],
  declared: (p: NetworkPolicy) => boolean,
): ReplayResult {
  const engine = new PolicyEngine(policies, snapshot.namespaces);
  const byId = new Map(snapshot.endpoints.map((e) => [e.id, e]));
  const sides = new Map<number, Endpoint[]>();
  const sidesOf = (id: number): Endpoint[] => {
    const cached = sides.get(id);
    if (cached) return cached;
    const e = byId.get(id);
    let out: Endpoint[] = [];
    if (e?.type === "workload") {
      const sets = snapshot.podLabels.get(id) ?? [{}];
      out = sets.map((labels) => ({ kind: "pod", pod: { namespace: e.namespace, labels } }) as Endpoint);
    } else if (e?.ip) {
      const ep = ipEndpoint(e.ip);
      if (ep?.kind === "ip") {
        out = [
          {
            ...ep,
            ...(e.type === "entity" ? { entity: e.name } : {}),
            ...(e.dnsNames.length > 0 ? { dnsNames: e.dnsNames } : {}),
          },
        ];
      }
    }
    sides.set(id, out);
    return out;
  };
  const used = new Set<string>();
  const wouldDeny: ReplayDenied[] = [];
  const perNamespace = new Map<string, { connections: number; allowed: number }>();
  const count = (ns: string, ok: boolean) => {
    const c = perNamespace.get(ns) ?? { connections: 0, allowed: 0 };
    c.connections++;
    if (ok) c.allowed++;
    perNamespace.set(ns, c);
  };
  let replayed = 0;
  let skipped = 0;
  for (const edge of snapshot.edges) {
    if (!ALLOWED.has(edge.verdict)) continue;
    const srcs = sidesOf(edge.src);
    const dsts = sidesOf(edge.dst);
    if (!isProtocol(edge.protocol) || srcs.length === 0 || dsts.length === 0) {
      skipped++;
      continue;
    }
    replayed++;
    let egressDenied = false;
    let ingressDenied = false;
    for (const s of srcs) {
      for (const d of dsts) {
        const v = engine.decide(s, d, edge.protocol, edge.port);
        for (const r of [...v.egress.rules, ...v.ingress.rules]) used.add(ruleRefToString(r));
        if (v.egress.isolated && v.egress.rules.length === 0) egressDenied = true;
        if (v.ingress.isolated && v.ingress.rules.length === 0) ingressDenied = true;
      }
    }
    const src = byId.get(edge.src);
    const dst = byId.get(edge.dst);
    const ok = !egressDenied && !ingressDenied;
    if (src?.type === "workload") count(src.namespace, ok);
    if (dst?.type === "workload" && dst.namespace !== src?.namespace) count(dst.namespace, ok);
    if (!ok) {
      wouldDeny.push({
        src: src ? endpointLabel(src) : String(edge.src),
        dst: dst ? endpointLabel(dst) : String(edge.dst),
        protocol: edge.protocol,
        port: edge.port,
        flows: edge.count,
        side: egressDenied && ingressDenied ? "egress and ingress" : egressDenied ? "egress" : "ingress",
      });
    }
  }
  const unusedRules: string[] = [];
  for (const p of policies) {
    if (!declared(p)) continue;
    for (const direction of ["ingress", "egress"] as const) {
      (p[direction] ?? []).forEach((_, index) => {
        const ref = ruleRefToString({ policy: p.name, namespace: p.namespace, direction, index });
        if (!used.has(ref)) unusedRules.push(ref);
      });
    }
  }
  const coverage: NamespaceCoverage[] = [];
  const workloadNamespaces = [
    ...new Set(snapshot.endpoints.filter((e) => e.type === "workload").map((e) => e.namespace)),
  ].sort();
  for (const ns of workloadNamespaces) {
    const inNs = policies.filter((p) => p.namespace === ns);
    const isEmpty = (p: NetworkPolicy) =>
      Object.keys(p.podSelector.matchLabels ?? {}).length === 0 && (p.podSelector.matchExpressions ?? []).length === 0;
    const workloads = snapshot.endpoints.filter((e) => e.type === "workload" && e.namespace === ns);
    const selected = (direction: "ingress" | "egress") =>
      workloads.filter((w) =>
        (snapshot.podLabels.get(w.id) ?? [{}]).some(
          (labels) => engine.selecting({ namespace: ns, labels })[direction].length > 0,
        ),
      ).length;
    const c = perNamespace.get(ns) ?? { connections: 0, allowed: 0 };
    coverage.push({
      namespace: ns,
      defaultDenyIngress: inNs.some((p) => isEmpty(p) && effectivePolicyTypes(p).includes("Ingress")),
      defaultDenyEgress: inNs.some((p) => isEmpty(p) && effectivePolicyTypes(p).includes("Egress")),
      workloads: workloads.length,
      selectedIngress: selected("ingress"),
      selectedEgress: selected("egress"),
      connections: c.connections,
      allowed: c.allowed,
    });
  }
  const order = (a: ReplayDenied, b: ReplayDenied) =>
    a.src < b.src ? -1 : a.src > b.src ? 1 : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : a.port - b.port;
  return { replayed, skipped, wouldDeny: wouldDeny.sort(order), unusedRules: unusedRules.sort(), coverage };
}
