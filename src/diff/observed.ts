import type { GraphInput } from "../graph/input.js";
import { ALLOWED_VERDICTS, type Verdict } from "../model/flow.js";
import type { Pod } from "../policy/types.js";

/**
 * Observed traffic as the diff reads it: one edge per (source, destination, protocol, port) that
 * reached its target (forwarded, audit or redirected), with its flow count. Pure.
 */
export type ObservedPeer =
  | { kind: "workload"; id: string; namespace: string; pod: Pod }
  | { kind: "ip"; id: string; ip: string; localNode?: boolean }
  | { kind: "unknown"; id: string };

export interface ObservedEdge {
  src: ObservedPeer;
  dst: ObservedPeer;
  protocol: string;
  port: number;
  flows: number;
}

export interface Observed {
  edges: ObservedEdge[];
  namespaces: Array<{ name: string; labels: Record<string, string> }>;
  /** Every workload seen (also those with no edge in scope), for coverage. */
  workloads: Array<Extract<ObservedPeer, { kind: "workload" }>>;
  /** Edges left out because their flows were dropped (they do not work today). */
  droppedEdges: number;
}

/** `ns/name[Kind]` for workloads (as netpol-analyzer names them), `host(10.1.0.5)`, `93.184.216.34`. */
function peerOf(e: GraphInput["endpoints"][number], labels: Record<string, string> | undefined): ObservedPeer {
  if (e.type === "workload") {
    return {
      kind: "workload",
      id: `${e.namespace}/${e.name}[${e.kind}]`,
      namespace: e.namespace,
      pod: { namespace: e.namespace, labels: labels ?? {} },
    };
  }
  if (e.type === "entity") {
    if (!e.ip) return { kind: "unknown", id: e.name };
    const peer: ObservedPeer = { kind: "ip", id: `${e.name}(${e.ip})`, ip: e.ip };
    // Hubble's `host` is the node the pod runs on: Kubernetes always lets it reach its pods.
    if (e.name === "host") peer.localNode = true;
    return peer;
  }
  if (e.ip) return { kind: "ip", id: e.type === "external" ? e.ip : `unknown(${e.ip})`, ip: e.ip };
  return { kind: "unknown", id: e.namespace ? `unknown(${e.namespace})` : "unknown" };
}

export function observedFromGraphInput(input: GraphInput): Observed {
  const podLabels = new Map<number, Record<string, string>>();
  for (const p of [...input.pods].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!podLabels.has(p.endpointId)) podLabels.set(p.endpointId, p.labels);
  }
  const peers = new Map<number, ObservedPeer>();
  for (const e of input.endpoints) peers.set(e.id, peerOf(e, podLabels.get(e.id)));
  const merged = new Map<string, ObservedEdge>();
  let droppedEdges = 0;
  for (const e of input.edges) {
    if (!ALLOWED_VERDICTS.has(e.verdict as Verdict)) {
      droppedEdges++;
      continue;
    }
    const src = peers.get(e.srcId);
    const dst = peers.get(e.dstId);
    if (!src || !dst) continue;
    const key = `${e.srcId}>${e.dstId}>${e.protocol}>${e.port}`;
    const hit = merged.get(key);
    if (hit) hit.flows += e.count;
    else merged.set(key, { src, dst, protocol: e.protocol, port: e.port, flows: e.count });
  }
  const workloads = [...peers.values()].filter(
    (p): p is Extract<ObservedPeer, { kind: "workload" }> => p.kind === "workload",
  );
  return { edges: [...merged.values()], namespaces: input.namespaces, workloads, droppedEdges };
}
