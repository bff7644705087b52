import type { GraphInput } from "../graph/input.js";
import type { CountWindow } from "../model/edge-hours.js";
import type { Pod } from "../policy/types.js";

/**
 * Observed traffic as the diff reads it: one edge per (source, destination, protocol, port) that
 * reached its target (forwarded, audit or redirected), with its flow count. Pure.
 */
export type ObservedPeer =
  | { kind: "workload"; id: string; namespace: string; pods: Pod[] }
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
  /** The window counted (whole hours), when one was asked for; absent: all time. */
  window?: CountWindow;
}

/**
 * `ns/name[Kind]` for workloads (as netpol-analyzer names them), `host(10.1.0.5)`, `93.184.216.34`.
 * A workload stands for each distinct label set of its pods (see `workloadLabelSets`).
 */
export function peerOf(
  e: Pick<GraphInput["endpoints"][number], "type" | "namespace" | "kind" | "name" | "ip">,
  labelSets: ReadonlyArray<Record<string, string>> | undefined,
): ObservedPeer {
  if (e.type === "workload") {
    const sets = labelSets && labelSets.length > 0 ? labelSets : [{}];
    return {
      kind: "workload",
      id: `${e.namespace}/${e.name}[${e.kind}]`,
      namespace: e.namespace,
      pods: sets.map((labels) => ({ namespace: e.namespace, labels })),
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

/**
 * The label sets a workload's pods are judged with: each distinct set, except that a pod recorded
 * without labels counts only when no pod of the workload has any (the pods of one controller
 * share their template's labels, so an empty set beside others means the record carried none).
 */
export function workloadLabelSets(sets: ReadonlyArray<Record<string, string>>): Array<Record<string, string>> {
  const distinct = new Map<string, Record<string, string>>();
  for (const labels of sets) {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (!distinct.has(key)) distinct.set(key, labels);
  }
  const all = [...distinct.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, l]) => l);
  const labelled = all.filter((l) => Object.keys(l).length > 0);
  return labelled.length > 0 ? labelled : [{}];
}
