import type { Observed, ObservedEdge, ObservedPeer } from "../diff/observed.js";
import { diffObserved, type EdgeResult } from "../diff/observed-diff.js";
import { InternalError } from "../errors.js";
import { cmp, type DependencyGraph, edgeKey, type GraphEdge, type GraphNode } from "../graph/index.js";
import { PURPOSE_LABEL } from "../model/labels.js";
import { type Endpoint, PolicyEngine } from "../policy/engine.js";
import { parseCidr } from "../policy/ip-range.js";
import { buildTopology } from "../policy/objects.js";
import type { NetworkPolicy } from "../policy/types.js";
import { judgeConnection } from "../policy/verdict.js";
import { hostCidr, isIp, isMetadataIp, METADATA_IPV4 } from "./cidr.js";
import { servedPorts } from "./served-ports.js";

/**
 * The proof, through the path users run (`flowpol diff`: the policy engine over the store's
 * observed connections, all of them): every observed allowed connection is allowed by the
 * generated set, or denied for a reason from a short documented list (`DENIED_REASONS`); and no
 * other pair of known workloads and ports is allowed except through a named shared-service
 * exception.
 */

/** A generated policy object of any flavor, as written (NetworkPolicy, CiliumNetworkPolicy, StagedKubernetesNetworkPolicy). */
export interface NetworkPolicyObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** Why an observed connection may stay denied; anything else fails the proof. */
export type DeniedReason =
  | "metadata-address"
  | "no-address"
  | "invalid-value"
  | "no-ports"
  | "below-min-flows"
  | "unselectable";

export const DENIED_REASONS: Record<DeniedReason, string> = {
  "metadata-address": `a cloud metadata address (${METADATA_IPV4}, fd00:ec2::254, any spelling; pass --allow-metadata to allow it)`,
  "no-address": "a peer with no address: no NetworkPolicy peer can name it",
  "invalid-value":
    "an address or port that is not valid (a store written before ingest checked every value: ingest the source again into a new store)",
  "no-ports": "a protocol without ports (ICMP and the like): NetworkPolicy rules name TCP, UDP and SCTP",
  "below-min-flows": "fewer flows than --min-flows",
  unselectable: "a workload with no stable labels: no selector picks exactly its pods",
};

export interface DeniedConnection {
  from: string;
  to: string;
  protocol: string;
  port: number;
  flows: number;
  deniedBy: Array<"egress" | "ingress">;
  /** The namespaces whose isolation denies it (egress of the source, ingress of the destination). */
  sides: Array<{ namespace: string; direction: "egress" | "ingress" }>;
  /** Undefined: no documented reason (the proof fails). */
  reason: DeniedReason | undefined;
}

export interface ObservedProof {
  /** Observed connections (distinct source, destination, protocol, port) that reached their target. */
  observed: number;
  allowed: number;
  /** Neither side is isolated by the generated set (namespaces out of scope). */
  unprotected: number;
  denied: DeniedConnection[];
}

export interface ProofContext {
  allowMetadata: boolean;
  minFlows: number;
  /** Workloads (`ns/name[Kind]`, as the store names them) no selector picks exactly. */
  unselectable: ReadonlySet<string>;
}

export function proveObserved(
  observed: Observed,
  policies: readonly NetworkPolicyObject[],
  context: ProofContext,
): ObservedProof {
  const parsed = policies.map((p) => parseGenerated(p));
  const result = diffObserved({ observed, policies: parsed.map((p) => p.policy) });
  const proof: ObservedProof = {
    observed: result.edges.length,
    allowed: result.totals.allowed.edges,
    unprotected: result.totals.unprotected.edges,
    denied: [],
  };
  for (const r of result.edges) {
    if (r.status !== "denied") continue;
    proof.denied.push({
      from: r.edge.src.id,
      to: r.edge.dst.id,
      protocol: r.edge.protocol,
      port: r.edge.port,
      flows: r.edge.flows,
      deniedBy: r.deniedBy,
      sides: sidesOf(r),
      reason: reasonFor(r.edge, context),
    });
  }
  return proof;
}

function sidesOf(r: EdgeResult): DeniedConnection["sides"] {
  const out: DeniedConnection["sides"] = [];
  const ns = (p: ObservedPeer) => (p.kind === "workload" ? p.namespace : undefined);
  for (const direction of r.deniedBy) {
    const namespace = ns(direction === "egress" ? r.edge.src : r.edge.dst);
    if (namespace !== undefined) out.push({ namespace, direction });
  }
  return out;
}

function reasonFor(edge: ObservedEdge, context: ProofContext): DeniedReason | undefined {
  const peers = [edge.src, edge.dst];
  if (peers.some((p) => p.kind === "unknown")) return "no-address";
  if (peers.some((p) => p.kind === "ip" && !isIp(p.ip))) return "invalid-value";
  if (!context.allowMetadata && peers.some((p) => p.kind === "ip" && isMetadataIp(p.ip))) return "metadata-address";
  if (!["TCP", "UDP", "SCTP"].includes(edge.protocol)) return "no-ports";
  if (!Number.isInteger(edge.port) || edge.port < 1 || edge.port > 65535) return "invalid-value";
  if (edge.flows < context.minFlows) return "below-min-flows";
  if (peers.some((p) => p.kind === "workload" && context.unselectable.has(p.id))) return "unselectable";
  return undefined;
}

/** A generated object read as `diff` reads the written file (`buildTopology`, every flavor's translation). */
export function parseGenerated(p: NetworkPolicyObject): { policy: NetworkPolicy; purpose: string | undefined } {
  const value = { kind: "NetworkPolicy", ...p } as unknown as Record<string, unknown>;
  const topology = buildTopology([
    { value, source: { file: `${p.metadata.namespace}/${p.metadata.name}.yaml`, document: 0 } },
  ]);
  const policy = topology.policies[0];
  const issues = [...topology.problems, ...topology.unsupported].flatMap((x) => x.issues);
  if (!policy || issues.length > 0) {
    throw new InternalError(
      `generated policy ${p.metadata.namespace}/${p.metadata.name} is invalid: ${JSON.stringify(issues)}`,
    );
  }
  return { policy, purpose: p.metadata.labels?.[PURPOSE_LABEL] };
}

// ---- nothing else is allowed ----

export interface ProofFailure {
  from: string;
  to: string;
  protocol: string;
  port: number;
}

export interface UnobservedProof {
  /** Pairs of known workloads and ports that were not observed, checked for denial. */
  unobservedPairsChecked: number;
  /** Unobserved pairs allowed only by a named shared-service or DNS exception. */
  allowedBySharedException: number;
  /** Unobserved pairs that pass because the directions that would judge them were left un-isolated. */
  unisolated: number;
  /** Unobserved pairs allowed by a per-flow policy: must be empty. */
  overPermissive: ProofFailure[];
  /** Set when the unobserved-pair check was skipped because it was too large. */
  skipped?: string;
}

/** Pair checks beyond this are skipped (the check is quadratic in workloads). */
export const MAX_PAIR_CHECKS = 4_000_000;

/**
 * Pairs of known workloads (one side in scope) on the ports the destination was seen serving,
 * never observed together: each must be denied, or allowed only by a DNS or shared-service
 * exception (judged by the one verdict, as observed connections are).
 */
export function proveUnobserved(graph: DependencyGraph, policies: readonly NetworkPolicyObject[]): UnobservedProof {
  const namespaces = [...graph.namespaceLabels].map(([name, labels]) => ({ name, labels }));
  const parsed = policies.map((p) => parseGenerated(p));
  const all = new PolicyEngine(
    parsed.map((p) => p.policy),
    namespaces,
  );
  const perFlowOnly = new PolicyEngine(
    parsed.filter((p) => p.purpose !== "shared" && p.purpose !== "dns").map((p) => p.policy),
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
  // The statuses for some pod of each side: one pair that passes is already too much.
  const statuses = (engine: PolicyEngine, e: Pick<GraphEdge, "from" | "to" | "protocol" | "port">) =>
    new Set(
      endpointsOf(e.from).flatMap((s) =>
        endpointsOf(e.to).map(
          (d) =>
            judgeConnection(engine, { src: [s], dst: [d], protocol: e.protocol, port: e.port, fromNode: false }).status,
        ),
      ),
    );
  const passes = (engine: PolicyEngine, e: Pick<GraphEdge, "from" | "to" | "protocol" | "port">) =>
    [...statuses(engine, e)].some((s) => s !== "denied");
  const report: UnobservedProof = {
    unobservedPairsChecked: 0,
    allowedBySharedException: 0,
    unisolated: 0,
    overPermissive: [],
  };

  const workloads = [...graph.nodes.values()].filter((n) => n.type === "workload").sort((a, b) => cmp(a.id, b.id));
  const observed = new Set(graph.allowed.map(edgeKey));
  const portsTo = servedPorts(graph);
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
        const seen = statuses(all, e);
        if (!seen.has("allowed") && !seen.has("unprotected")) continue;
        if (!seen.has("allowed")) report.unisolated++;
        else if (passes(perFlowOnly, e)) report.overPermissive.push(e);
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
