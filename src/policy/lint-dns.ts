import { CLUSTER_DNS_LABELS, CLUSTER_DNS_NAMESPACE } from "../model/labels.js";
import { compilePolicy } from "./compile.js";
import { type Endpoint, ipEndpoint, type PolicyEngine } from "./engine.js";
import { type IpRange, parseCidr } from "./ip-range.js";
import { type Topology, topologyWorkloadId } from "./objects.js";
import { compileSelector, isEmptySelector, selectorToString } from "./selector.js";
import type { LabelSelector, Labels, NetworkPolicy, Pod } from "./types.js";

/**
 * The DNS questions of `flowpol lint`, answered by the policy engine: can the pods a policy
 * isolates for egress still look names up (NP002), and does a rule send DNS anywhere (NP010)?
 */
const DNS_PORT = 53;

/** NodeLocal DNSCache's link-local listen address. */
export const NODE_LOCAL_DNS_IP = "169.254.20.10";

/** The cluster DNS pod as kubeadm, EKS, GKE and AKS deploy it, for when none is given. */
const CONVENTIONAL_DNS_POD: Pod = {
  namespace: CLUSTER_DNS_NAMESPACE,
  labels: { ...CLUSTER_DNS_LABELS },
  ports: [
    { name: "dns", containerPort: DNS_PORT, protocol: "UDP" },
    { name: "dns-tcp", containerPort: DNS_PORT, protocol: "TCP" },
  ],
};

/**
 * Where a pod may hold its address when its IP is unknown: the private ranges (RFC 1918, RFC 6598
 * shared space, IPv6 unique local). An ipBlock reaches such a pod only if it holds one whole range.
 */
const POD_ADDRESS_SPACE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"];

/**
 * Where pods look names up, as endpoints: the cluster DNS pods (the workloads given with the
 * CoreDNS/kube-dns label, else the conventional kube-system pod), the pod address space (or the
 * `--cluster-cidr` ranges) when their IPs are unknown, and NodeLocal DNSCache.
 */
export function dnsEndpoints(topo: Topology, clusterCidrs: readonly string[]): Endpoint[] {
  const given = topo.workloads.filter((w) => isDnsPod(w.pod)).map((w) => w.pod);
  const pods = given.length > 0 ? given : [CONVENTIONAL_DNS_POD];
  const out: Endpoint[] = pods.map((pod) => ({ kind: "pod", pod }));
  if (pods.some((p) => (p.ips ?? []).length === 0)) {
    const cidrs = clusterCidrs.length > 0 ? clusterCidrs : POD_ADDRESS_SPACE;
    for (const cidr of cidrs) {
      const range: IpRange | undefined = parseCidr(cidr);
      if (range) out.push({ kind: "ip", range });
    }
  }
  out.push(ipEndpoint(NODE_LOCAL_DNS_IP)!);
  return out;
}

function isDnsPod(pod: Pod): boolean {
  return Object.entries(CLUSTER_DNS_LABELS).every(([k, v]) => pod.labels[k] === v);
}

export function reachesDns(engine: PolicyEngine, pod: Pod, dns: readonly Endpoint[]): boolean {
  const src: Endpoint = { kind: "pod", pod };
  return dns.some((d) => engine.decide(src, d, "UDP", DNS_PORT).allowed);
}

/**
 * Labels that a selector matches (In takes its first value, Exists a placeholder), or undefined
 * when the selector contradicts itself.
 */
export function labelsSelectedBy(selector: LabelSelector): Labels | undefined {
  const labels: Record<string, string> = { ...(selector.matchLabels ?? {}) };
  for (const req of selector.matchExpressions ?? []) {
    if (labels[req.key] !== undefined) continue;
    if (req.operator === "In") labels[req.key] = req.values?.[0] ?? "";
    else if (req.operator === "Exists") labels[req.key] = "any";
  }
  return compileSelector(selector)(labels) ? labels : undefined;
}

/** A pod whose egress the lint judges, with the words that name it and the policy it stands for. */
export interface EgressSubject {
  pod: Pod;
  who: string;
  from?: NetworkPolicy;
}

/**
 * The pods to judge: the workloads given, or, without them, one pod per policy built from its
 * podSelector. A `{}` policy adds a pod without labels only when no other policy of its namespace
 * names pods: the pods known are those the policies name.
 */
export function egressSubjects(topo: Topology): EgressSubject[] {
  if (topo.workloads.length > 0) {
    return topo.workloads.filter((w) => !isDnsPod(w.pod)).map((w) => ({ pod: w.pod, who: topologyWorkloadId(w) }));
  }
  const out: EgressSubject[] = [];
  const seen = new Set<string>();
  const named = new Set(topo.policies.filter((p) => !isEmptySelector(p.podSelector)).map((p) => p.namespace));
  for (const p of topo.policies) {
    const empty = isEmptySelector(p.podSelector);
    if (empty && named.has(p.namespace)) continue;
    const labels = labelsSelectedBy(p.podSelector);
    if (!labels) continue;
    const key = `${p.namespace}\u0000${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const who = empty ? `every pod of ${p.namespace}` : `pods ${selectorToString(p.podSelector)}`;
    out.push({ pod: { namespace: p.namespace, labels }, who, from: p });
  }
  return out;
}

/**
 * For each egress-isolated subject that cannot reach DNS, the policy to blame: the one it was
 * built from if that policy isolates it, else the first isolating policy with a non-empty selector.
 */
export function podsWithoutDns(
  topo: Topology,
  engine: PolicyEngine,
  clusterCidrs: readonly string[],
): Map<NetworkPolicy, string[]> {
  const dns = dnsEndpoints(topo, clusterCidrs);
  const blamed = new Map<NetworkPolicy, string[]>();
  for (const s of egressSubjects(topo)) {
    const isolating = engine.selecting(s.pod).egress.map((c) => c.policy);
    if (isolating.length === 0 || reachesDns(engine, s.pod, dns)) continue;
    const policy =
      (s.from && isolating.includes(s.from) ? s.from : undefined) ??
      isolating.find((p) => !isEmptySelector(p.podSelector)) ??
      isolating[0]!;
    const who = blamed.get(policy);
    if (who) who.push(s.who);
    else blamed.set(policy, [s.who]);
  }
  return blamed;
}

/** The egress rules (by index) that allow DNS to every destination: ports with 53 and no `to`. */
export function dnsToAnywhereRules(policy: NetworkPolicy, engine: PolicyEngine): number[] {
  const dnsPod: Endpoint = { kind: "pod", pod: CONVENTIONAL_DNS_POD };
  const out: number[] = [];
  for (const rule of compilePolicy(policy).egress ?? []) {
    if (rule.peers !== undefined || rule.ports === undefined) continue;
    if (engine.rulePortsHave(rule, dnsPod, "UDP", DNS_PORT) || engine.rulePortsHave(rule, dnsPod, "TCP", DNS_PORT)) {
      out.push(rule.ref.index);
    }
  }
  return out;
}
