import type { GraphInput } from "../graph/input.js";
import type { Pod } from "../policy/types.js";

/**
 * Observed traffic as the diff reads it: one edge per (source, destination, protocol, port) that
 * reached its target (forwarded, audit or redirected), with its flow count. Pure.
 */
export type ObservedPeer =
  | { kind: "workload"; id: string; namespace: string; pod: Pod }
  | {
      kind: "ip";
      id: string;
      ip: string;
      localNode?: boolean;
      /** The reserved identity it was seen as (host, remote-node, kube-apiserver...); none: outside the cluster. */
      entity?: string;
      /** The DNS names observed for the address (Cilium toFQDNs rules match them). */
      dnsNames?: string[];
    }
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
export function peerOf(
  e: Pick<GraphInput["endpoints"][number], "type" | "namespace" | "kind" | "name" | "ip">,
  labels: Record<string, string> | undefined,
): ObservedPeer {
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
    const peer: ObservedPeer = { kind: "ip", id: `${e.name}(${e.ip})`, ip: e.ip, entity: e.name };
    // Hubble's `host` is the node the pod runs on: Kubernetes always lets it reach its pods.
    if (e.name === "host") peer.localNode = true;
    return peer;
  }
  if (e.ip) return { kind: "ip", id: e.type === "external" ? e.ip : `unknown(${e.ip})`, ip: e.ip };
  return { kind: "unknown", id: e.namespace ? `unknown(${e.namespace})` : "unknown" };
}
