import type { Observed } from "../diff/observed.js";
import type { DependencyGraph } from "../graph/index.js";
import type { NamespacePlan, PolicyIntent, PolicyPlan, SynthOptions, Unisolated } from "./intent.js";
import { type GeneratedTree, generateTree } from "./output.js";
import { type DeniedConnection, type ObservedProof, proveObserved } from "./proof.js";
import { synthesize } from "./synthesize.js";

/**
 * Synthesis that never breaks observed traffic silently: the plan's output is judged against the
 * store's observed connections (`proveObserved`); where a connection is denied only because a
 * workload has no stable labels, that direction of the namespaces that deny it is left
 * un-isolated (every policy of that direction there is dropped), and EVIDENCE.md says so. What
 * stays denied is denied for a documented reason, or is listed by the caller as a failure.
 * Pure and deterministic.
 */
export interface SoundOptions {
  /** Keep isolation even where it denies observed connections (`--accept-denied`). */
  acceptDenied: boolean;
  /** --min-flows: connections with fewer flows were left out on purpose. */
  minFlows: number;
}

export interface SoundResult {
  plan: PolicyPlan;
  tree: GeneratedTree;
  proof: ObservedProof;
}

export function synthesizeSound(
  graph: DependencyGraph,
  observed: Observed,
  synth: SynthOptions,
  options: SoundOptions,
): SoundResult {
  const unselectable = new Set<string>();
  for (const n of graph.nodes.values()) {
    if (n.type === "workload" && Object.keys(n.selector.matchLabels).length === 0) {
      unselectable.add(`${n.namespace}/${n.name}[${n.kind}]`);
    }
  }
  const context = { allowMetadata: synth.allowMetadata, minFlows: options.minFlows, unselectable };
  let plan = synthesize(graph, synth);
  // Each round drops at least one more (namespace, direction): it ends.
  for (;;) {
    const tree = generateTree(graph, plan, synth.flavor);
    const proof = proveObserved(observed, tree.networkPolicies, context);
    if (options.acceptDenied) return { plan, tree, proof };
    const relax = new Map<string, DeniedConnection[]>();
    for (const d of proof.denied) {
      if (d.reason !== "unselectable") continue;
      for (const side of d.sides) {
        const key = `${side.namespace}\u0000${side.direction}`;
        const denied = relax.get(key);
        if (denied) denied.push(d);
        else relax.set(key, [d]);
      }
    }
    if (relax.size === 0) return { plan, tree, proof };
    plan = leaveUnisolated(plan, relax);
  }
}

function leaveUnisolated(plan: PolicyPlan, relax: ReadonlyMap<string, DeniedConnection[]>): PolicyPlan {
  const namespaces = plan.namespaces.map((ns): NamespacePlan => {
    let next = ns;
    for (const direction of ["ingress", "egress"] as const) {
      const because = relax.get(`${ns.namespace}\u0000${direction}`);
      if (!because) continue;
      const entry: Unisolated = {
        direction,
        reason: `${because.length} observed ${direction} connection(s) involve a workload no selector picks exactly (no stable labels)`,
        connections: because.map((d) => `${d.from} -> ${d.to} ${d.protocol}/${d.port}`),
      };
      next = {
        ...next,
        policies: next.policies.flatMap((p) => {
          if (!p[direction]) return [p];
          const rest: PolicyIntent = { ...p };
          delete rest[direction];
          return rest.ingress || rest.egress ? [rest] : [];
        }),
        unisolated: [...(next.unisolated ?? []), entry],
      };
    }
    return next;
  });
  const notices = [...plan.notices];
  for (const ns of namespaces) {
    for (const u of ns.unisolated ?? []) {
      if (plan.namespaces.find((p) => p.namespace === ns.namespace)?.unisolated?.includes(u)) continue;
      notices.push({
        code: "left-unisolated",
        namespace: ns.namespace,
        message: `${u.direction} of namespace ${ns.namespace} left un-isolated: ${u.connections.length} observed connection(s) involve a workload no selector picks exactly (see ${ns.namespace}/EVIDENCE.md)`,
      });
    }
  }
  return { ...plan, namespaces, notices };
}
