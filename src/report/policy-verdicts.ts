import { type DiffInput, diffObserved, type NamespaceCoverage, unusedRules } from "../diff/observed-diff.js";
import { type NetworkPolicy, type RuleRef, ruleRefToString } from "../policy/types.js";

/**
 * The stored observed connections judged through a set of NetworkPolicies, as the report and the
 * pull request show it: `flowpol diff`'s result on the same input (`diffInput`: the policies, their
 * Namespace manifests and named ports; the one verdict, src/policy/verdict.ts) reduced to what
 * would be denied, which declared rules nothing uses, and per-namespace coverage. Pure.
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

export type { NamespaceCoverage };

export interface ReplayResult {
  /** Observed connections judged (distinct source, destination, protocol and port). */
  replayed: number;
  wouldDeny: ReplayDenied[];
  unusedRules: string[];
  coverage: NamespaceCoverage[];
}

export function replay(input: DiffInput, declared: (p: NetworkPolicy) => boolean): ReplayResult {
  const diff = diffObserved(input);
  const byRef = new Map(input.policies.map((p) => [`${p.namespace}/${p.name}`, p]));
  const isDeclared = (ref: RuleRef) => {
    const p = byRef.get(`${ref.namespace}/${ref.policy}`);
    return p !== undefined && declared(p);
  };
  const wouldDeny: ReplayDenied[] = diff.edges
    .filter((r) => r.status === "denied")
    .map((r) => ({
      src: r.edge.src.id,
      dst: r.edge.dst.id,
      protocol: r.edge.protocol,
      port: r.edge.port,
      flows: r.edge.flows,
      side: r.deniedBy.length === 2 ? "egress and ingress" : r.deniedBy[0]!,
    }));
  return {
    replayed: diff.edges.length,
    wouldDeny,
    unusedRules: unusedRules(diff)
      .filter((u) => isDeclared(u.ref))
      .map((u) => ruleRefToString(u.ref))
      .sort(),
    coverage: diff.namespaces,
  };
}
