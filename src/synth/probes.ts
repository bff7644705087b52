import { cmp, type DependencyGraph, type WorkloadNode } from "../graph/index.js";
import { IDENTITY_LABEL_KEYS } from "../model/labels.js";
import { type Endpoint, ipEndpoint, PolicyEngine } from "../policy/engine.js";
import type { Labels } from "../policy/types.js";
import { type ConnectionStatus, judgeConnection } from "../policy/verdict.js";
import { type NetworkPolicyObject, parseGenerated } from "./proof.js";
import { servedPorts } from "./served-ports.js";

/**
 * Beyond pairs of known workloads: connections of pods created later and of addresses nobody
 * observed, judged through the generated set by the one verdict. Each probe must be denied; pods
 * may also pass through a named DNS or shared-service exception, or where a direction was left
 * un-isolated; addresses get no exception. Pure.
 *
 * - A newcomer in each namespace in scope (a label no policy names), to and from every workload on
 *   the ports the destination serves.
 * - A pod with only the labels a workload shares with others (its selector without the identity
 *   label: `version: v2`, `tier: front`), to and from every workload, on the ports it imitates.
 * - From each workload in scope: an external address nobody observed (on 443), every node address on
 *   port 53 unless nodes were seen answering DNS, NodeLocal DNS (169.254.20.10) on a port other
 *   than 53; and into it, on the ports it serves, from that external address.
 */
export interface ProbeFailure {
  probe: string;
  protocol: string;
  port: number;
}

export interface ProbeProof {
  checked: number;
  denied: number;
  allowedByException: number;
  unisolated: number;
  overPermissive: ProbeFailure[];
  /** Set when the probes were too many to judge. */
  skipped?: string;
}

/** Probes beyond this are skipped (pods created later meet every workload). */
export const MAX_PROBES = 1_000_000;

const NEWCOMER: Labels = { "flowpol.io/probe": "newcomer" };
const NODE_LOCAL_DNS = "169.254.20.10";
/** Documentation addresses (RFC 5737): the first whose /16 holds no observed address is the probe. */
const UNSEEN_EXTERNALS = ["192.0.2.1", "198.51.100.1", "203.0.113.1"];
const NOT_DNS_PORT = 8080;

interface Probe {
  name: string;
  src: Endpoint;
  dst: Endpoint;
  protocol: string;
  port: number;
  /** Pods may pass through a named exception; addresses may not. */
  exceptionsExcuse: boolean;
}

export function proveProbes(graph: DependencyGraph, policies: readonly NetworkPolicyObject[]): ProbeProof {
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
  const proof: ProbeProof = { checked: 0, denied: 0, allowedByException: 0, unisolated: 0, overPermissive: [] };
  const probes = probesOf(graph);
  if (probes === undefined) {
    proof.skipped = `more than ${MAX_PROBES} probes; check a narrower --namespace scope`;
    return proof;
  }
  for (const probe of probes) {
    proof.checked++;
    const judge = (engine: PolicyEngine): ConnectionStatus =>
      judgeConnection(engine, {
        src: [probe.src],
        dst: [probe.dst],
        protocol: probe.protocol,
        port: probe.port,
        fromNode: false,
      }).status;
    const status = judge(all);
    if (status === "denied") proof.denied++;
    // Unprotected: the namespace's direction was left un-isolated, which EVIDENCE.md says.
    else if (status === "unprotected") proof.unisolated++;
    else if (probe.exceptionsExcuse && judge(perFlowOnly) === "denied") proof.allowedByException++;
    else proof.overPermissive.push({ probe: probe.name, protocol: probe.protocol, port: probe.port });
  }
  return proof;
}

function probesOf(graph: DependencyGraph): Probe[] | undefined {
  const workloads = [...graph.nodes.values()]
    .filter((n): n is WorkloadNode => n.type === "workload")
    .sort((a, b) => cmp(a.id, b.id));
  const inScope = workloads.filter((w) => w.inScope);
  const served = servedPorts(graph);
  const nodesServeDns = graph.allowed.some((e) => e.to === "entity:nodes" && e.port === 53);
  const addresses: string[] = [];
  for (const n of graph.nodes.values()) {
    if (n.type === "external") addresses.push(n.ip);
    if (n.type === "entity") addresses.push(...n.ips);
  }
  const pod = (namespace: string, labels: Labels): Endpoint => ({ kind: "pod", pod: { namespace, labels } });
  const podsOf = (w: WorkloadNode): Endpoint[] =>
    (w.podLabelSets.length > 0 ? w.podLabelSets : [{}]).map((labels) => pod(w.namespace, labels));
  const probes: Probe[] = [];
  let perNewPod = 0;
  for (const w of workloads) perNewPod += (served.get(w.id)?.length ?? 0) * Math.max(w.podLabelSets.length, 1);
  const newPods = new Set(inScope.map((w) => w.namespace)).size + inScope.length;
  if (newPods * perNewPod * 2 > MAX_PROBES) return undefined;
  const between = (name: string, newPod: Endpoint, ports: Array<{ protocol: string; port: number }>) => {
    for (const w of workloads) {
      for (const p of served.get(w.id) ?? []) {
        for (const d of podsOf(w))
          probes.push({ name: `${name} -> ${w.id}`, src: newPod, dst: d, ...p, exceptionsExcuse: true });
      }
      for (const p of ports) {
        for (const s of podsOf(w))
          probes.push({ name: `${w.id} -> ${name}`, src: s, dst: newPod, ...p, exceptionsExcuse: true });
      }
    }
  };

  // Pods created later.
  for (const ns of [...new Set(inScope.map((w) => w.namespace))].sort(cmp)) {
    const ports = inScope.filter((w) => w.namespace === ns).flatMap((w) => served.get(w.id) ?? []);
    between(`a new pod in ${ns}`, pod(ns, NEWCOMER), dedupe(ports));
  }
  for (const w of inScope) {
    const shared = Object.fromEntries(
      Object.entries(w.selector.matchLabels).filter(([k]) => !IDENTITY_LABEL_KEYS.includes(k)),
    );
    if (Object.keys(shared).length === 0) continue;
    const labels = Object.entries(shared)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    between(`a new pod in ${w.namespace} with only ${labels}`, pod(w.namespace, shared), served.get(w.id) ?? []);
  }

  // Addresses nobody observed.
  const unseen = UNSEEN_EXTERNALS.find(
    (ip) => !addresses.some((a) => a.split(".").slice(0, 2).join(".") === ip.split(".").slice(0, 2).join(".")),
  );
  const external = unseen === undefined ? undefined : ipEndpoint(unseen);
  const nodes = graph.nodes.get("entity:nodes");
  const nodeIps = nodes?.type === "entity" ? nodes.ips : [];
  const localDns = ipEndpoint(NODE_LOCAL_DNS);
  for (const w of inScope) {
    for (const s of podsOf(w)) {
      if (external)
        probes.push({
          name: `${w.id} -> ${unseen}`,
          src: s,
          dst: external,
          protocol: "TCP",
          port: 443,
          exceptionsExcuse: false,
        });
      if (!nodesServeDns) {
        for (const ip of nodeIps) {
          const node = ipEndpoint(ip);
          if (node?.kind !== "ip") continue;
          for (const protocol of ["UDP", "TCP"]) {
            probes.push({
              name: `${w.id} -> node ${ip}`,
              src: s,
              dst: { ...node, entity: "remote-node" },
              protocol,
              port: 53,
              exceptionsExcuse: false,
            });
          }
        }
      }
      if (localDns?.kind === "ip") {
        probes.push({
          name: `${w.id} -> NodeLocal DNS ${NODE_LOCAL_DNS}`,
          src: s,
          dst: { ...localDns, entity: "host" },
          protocol: "TCP",
          port: NOT_DNS_PORT,
          exceptionsExcuse: false,
        });
      }
      if (external) {
        for (const p of served.get(w.id) ?? []) {
          probes.push({ name: `${unseen} -> ${w.id}`, src: external, dst: s, ...p, exceptionsExcuse: false });
        }
      }
    }
  }
  return probes;
}

function dedupe(ports: Array<{ protocol: string; port: number }>): Array<{ protocol: string; port: number }> {
  const seen = new Map(ports.map((p) => [`${p.protocol}/${p.port}`, p]));
  return [...seen.values()];
}
