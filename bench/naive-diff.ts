import type { ObservedEdge } from "../src/diff/observed.js";
import { diffObserved } from "../src/diff/observed-diff.js";
import { DEFAULT_CLUSTER } from "../src/model/batch.js";
import { type CompiledPolicy, type CompiledRule, compilePolicy } from "../src/policy/compile.js";
import { isProtocol, type PolicyProtocol } from "../src/policy/conn-set.js";
import { NAMESPACE_NAME_LABEL } from "../src/policy/types.js";
import { loadTopology } from "../src/policy-io/load-topology.js";
import { openStore } from "../src/store/db.js";
import { readObserved } from "../src/store/read-observed.js";

/**
 * The benchmark's baseline: the obvious evaluator that, for every edge, scans every policy of the
 * cluster and every rule, with no index by namespace and no cache per workload. It also checks
 * that flowpol's engine gives the same verdicts on the same edges.
 */
type Status = "allowed" | "denied" | "unprotected";

function naiveJudge(
  policies: CompiledPolicy[],
  nsLabels: (ns: string) => Record<string, string>,
  e: ObservedEdge,
): Status {
  if (!isProtocol(e.protocol)) return "unprotected";
  const protocol = e.protocol as PolicyProtocol;
  const side = (direction: "ingress" | "egress") => {
    const owner = direction === "egress" ? e.src : e.dst;
    const peer = direction === "egress" ? e.dst : e.src;
    if (owner.kind !== "workload") return { isolated: false, allowed: true };
    let anyIsolated = false;
    let allAllowed = true;
    // A workload is each of its pods' label sets: allowed only if allowed for every one.
    for (const ownerPod of owner.pods) {
      for (const peerLabels of peer.kind === "workload" ? peer.pods.map((p) => p.labels) : [undefined]) {
        let isolated = false;
        let allowed = false;
        for (const p of policies) {
          if (p.policy.namespace !== owner.namespace || !p.selects(ownerPod.labels) || !p[direction]) continue;
          isolated = true;
          for (const rule of p[direction]!) if (ruleAllows(rule, peer, peerLabels, protocol, e.port)) allowed = true;
        }
        anyIsolated ||= isolated;
        if (isolated && !allowed) allAllowed = false;
      }
    }
    return { isolated: anyIsolated, allowed: allAllowed };
  };
  const ruleAllows = (
    rule: CompiledRule,
    peer: ObservedEdge["src"],
    peerLabels: Record<string, string> | undefined,
    proto: PolicyProtocol,
    port: number,
  ) => {
    const portOk = !rule.ports || rule.ports.some((p) => p.kind === "numbered" && p.conns.has(proto, port));
    if (!portOk) return false;
    if (!rule.peers) return true;
    return rule.peers.some((x) => {
      if (x.kind === "pods") {
        if (peer.kind !== "workload") return false;
        const inNs = x.namespaces ? x.namespaces(nsLabels(peer.namespace)) : peer.namespace === x.ownNamespace;
        return inNs && x.pods(peerLabels ?? {});
      }
      if (peer.kind !== "ip" || x.kind !== "ipBlock") return false;
      const [a, b, c, d] = peer.ip.split(".").map(Number);
      const v = BigInt((((a! * 256 + b!) * 256 + c!) * 256 + d!) >>> 0);
      return v >= x.block.start && v <= x.block.end && !x.except.some((r) => v >= r.start && v <= r.end);
    });
  };
  const egress = side("egress");
  const ingress = side("ingress");
  if (!egress.allowed || !ingress.allowed) return "denied";
  return egress.isolated || ingress.isolated ? "allowed" : "unprotected";
}

export function naiveDiff(policiesPath: string, dbPath: string, sample: number): Record<string, number> {
  const { topology } = loadTopology([policiesPath]);
  const db = openStore(dbPath, { mustExist: true, readonly: true });
  const observed = (() => {
    try {
      return readObserved(db, {}, DEFAULT_CLUSTER);
    } finally {
      db.close();
    }
  })();
  const edges = observed.edges.slice(0, sample);
  const compiled = topology.policies.map(compilePolicy);
  const nsLabels = (ns: string) => ({ [NAMESPACE_NAME_LABEL]: ns });
  const started = process.hrtime.bigint();
  const counts: Record<Status, number> = { allowed: 0, denied: 0, unprotected: 0 };
  const verdicts = edges.map((e) => naiveJudge(compiled, nsLabels, e));
  for (const v of verdicts) counts[v]++;
  const evalSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Every edge through flowpol's engine (its fixed costs spread over the whole run, as in the
  // command), timed the same way; on the sampled edges the verdicts must agree.
  const oursStarted = process.hrtime.bigint();
  const ours = diffObserved({ observed, policies: topology.policies });
  const oursSeconds = Number(process.hrtime.bigint() - oursStarted) / 1e9;
  const oursByEdge = new Map(ours.edges.map((r) => [r.edge, r.status]));
  const mismatches = edges.filter((e, i) => oursByEdge.get(e) !== verdicts[i]).length;
  return { edges: edges.length, evalSeconds, allEdges: observed.edges.length, oursSeconds, mismatches, ...counts };
}
