import { effectivePolicyTypes } from "./compile.js";
import { PolicyEngine } from "./engine.js";
import { type IpRange, parseCidr, parseIp, rangesOverlap, subtractRanges } from "./ip-range.js";
import type { Topology } from "./objects.js";
import { compileSelector, isEmptySelector } from "./selector.js";
import type { NetworkPolicy, PolicyPeer, PolicyPort } from "./types.js";

/**
 * `flowpol lint`: the review questions and anti-patterns practitioners write about, as findings
 * with an id, a severity, the JSON path of the offending field and a fix. Pure: the caller turns
 * the path into file:line.
 */
export type Severity = "error" | "warning" | "info";

export interface Finding {
  id: string;
  severity: Severity;
  /** The policy, or undefined for a namespace-level finding. */
  policy?: NetworkPolicy;
  namespace: string;
  path: string;
  message: string;
  fix: string;
}

export const RULES = {
  "NP001-split-peer":
    "a namespaceSelector item and a podSelector item as two peers, where one AND-ed peer was likely meant",
  "NP002-egress-without-dns": "egress isolation with no DNS allow",
  "NP003-allow-all": "a rule that allows every peer on every port",
  "NP004-flat-trust": "namespaceSelector {} alone: every pod of every namespace",
  "NP005-no-default-deny": "a namespace with no default-deny policy",
  "NP006-selects-nothing": "a podSelector that selects no known workload",
  "NP007-ipblock-covers-cluster": "an ipBlock that covers pod or Service addresses",
  "NP008-named-port-unmatched": "a named port that matches no container port",
  "NP009-named-port-to-ipblock": "a named port towards an ipBlock (it can match nothing)",
} as const;
export type RuleId = keyof typeof RULES;

export interface LintOptions {
  /** Pod and Service address ranges (CIDRs) of the cluster. */
  clusterCidrs?: readonly string[];
}

type Dir = "ingress" | "egress";

export function lint(topo: Topology, options: LintOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const engine = new PolicyEngine(topo.policies, topo.namespaces, { semantics: "kubernetes" });
  const clusterRanges = clusterRangesOf(topo, options);
  const add = (f: Omit<Finding, "namespace"> & { namespace?: string }) =>
    findings.push({ ...f, namespace: f.namespace ?? f.policy?.namespace ?? "" });

  for (const p of topo.policies) {
    const types = effectivePolicyTypes(p);
    for (const dir of ["ingress", "egress"] as const) {
      if (!types.includes(dir === "ingress" ? "Ingress" : "Egress")) continue;
      const rules = (dir === "ingress" ? p.ingress : p.egress) ?? [];
      rules.forEach((rule, i) => {
        const peersKey = dir === "ingress" ? "from" : "to";
        const peers =
          (dir === "ingress" ? (rule as { from?: PolicyPeer[] }).from : (rule as { to?: PolicyPeer[] }).to) ?? [];
        const path = `spec.${dir}[${i}]`;
        checkSplitPeer(p, peers, `${path}.${peersKey}`, add);
        if (peers.length === 0 && (rule.ports ?? []).length === 0) {
          add({
            id: "NP003-allow-all",
            severity: "warning",
            policy: p,
            path,
            message: `${dir} rule ${i} of ${p.namespace}/${p.name} allows every ${dir === "ingress" ? "source" : "destination"} on every port`,
            fix: `name the ${dir === "ingress" ? "sources (from)" : "destinations (to)"} and ports this workload really needs`,
          });
        }
        peers.forEach((peer, j) => {
          const peerPath = `${path}.${peersKey}[${j}]`;
          if (
            peer.namespaceSelector &&
            isEmptySelector(peer.namespaceSelector) &&
            (!peer.podSelector || isEmptySelector(peer.podSelector))
          ) {
            add({
              id: "NP004-flat-trust",
              severity: "warning",
              policy: p,
              path: `${peerPath}.namespaceSelector`,
              message: `namespaceSelector {} matches every pod in every namespace: the flat network again`,
              fix: "select the namespaces by label (kubernetes.io/metadata.name: <ns>) and add a podSelector",
            });
          }
          if (peer.ipBlock) checkIpBlock(p, peer, `${peerPath}.ipBlock`, clusterRanges, add);
        });
        checkNamedPorts(p, dir, rule.ports ?? [], peers, path, topo, engine, add);
      });
    }
    checkSelectsNothing(p, topo, add);
  }
  checkDns(topo, add);
  checkDefaultDeny(topo, add);
  return findings.sort(
    (a, b) =>
      compare(a.namespace, b.namespace) ||
      compare(a.policy?.name ?? "", b.policy?.name ?? "") ||
      compare(a.path, b.path) ||
      compare(a.id, b.id),
  );
}

type Add = (f: Omit<Finding, "namespace"> & { namespace?: string }) => void;

function checkSplitPeer(p: NetworkPolicy, peers: PolicyPeer[], path: string, add: Add): void {
  const nsOnly = peers.findIndex((x) => x.namespaceSelector && !x.podSelector && !isEmptySelector(x.namespaceSelector));
  const podOnly = peers.findIndex((x) => x.podSelector && !x.namespaceSelector && !isEmptySelector(x.podSelector));
  if (nsOnly === -1 || podOnly === -1) return;
  add({
    id: "NP001-split-peer",
    severity: "warning",
    policy: p,
    path: `${path}[${Math.max(nsOnly, podOnly)}]`,
    message: `peers ${nsOnly} and ${podOnly} are ORed: every pod of the selected namespaces, plus the selected pods of ${p.namespace}`,
    fix: "if you meant those pods in those namespaces, write one peer: remove the dash before podSelector so it sits beside namespaceSelector",
  });
}

function clusterRangesOf(topo: Topology, options: LintOptions): Array<{ range: IpRange; what: string }> {
  const out: Array<{ range: IpRange; what: string }> = [];
  for (const cidr of options.clusterCidrs ?? []) {
    const r = parseCidr(cidr);
    if (r) out.push({ range: r, what: `cluster range ${cidr}` });
  }
  for (const w of topo.workloads) {
    for (const ip of w.pod.ips ?? []) {
      const v = parseIp(ip);
      if (v)
        out.push({
          range: { family: v.family, start: v.value, end: v.value },
          what: `pod IP ${ip} (${w.namespace}/${w.name})`,
        });
    }
  }
  return out;
}

function checkIpBlock(
  p: NetworkPolicy,
  peer: PolicyPeer,
  path: string,
  cluster: Array<{ range: IpRange; what: string }>,
  add: Add,
): void {
  const block = parseCidr(peer.ipBlock!.cidr);
  if (!block) return;
  const except = (peer.ipBlock!.except ?? []).map(parseCidr).filter((r) => r !== undefined);
  const allowed = subtractRanges(block, except);
  const hit = cluster.find((c) => allowed.some((a) => rangesOverlap(a, c.range)));
  if (!hit) return;
  add({
    id: "NP007-ipblock-covers-cluster",
    severity: "warning",
    policy: p,
    path: `${path}.cidr`,
    message: `ipBlock ${peer.ipBlock!.cidr} covers ${hit.what}: pod traffic is matched by address, which breaks when pods move`,
    fix: "select in-cluster peers with podSelector/namespaceSelector, and add the pod and Service ranges to except",
  });
}

function checkNamedPorts(
  p: NetworkPolicy,
  dir: Dir,
  ports: PolicyPort[],
  peers: PolicyPeer[],
  path: string,
  topo: Topology,
  engine: PolicyEngine,
  add: Add,
): void {
  ports.forEach((port, k) => {
    if (typeof port.port !== "string") return;
    const protocol = port.protocol ?? "TCP";
    if (dir === "egress" && peers.some((x) => x.ipBlock)) {
      add({
        id: "NP009-named-port-to-ipblock",
        severity: "warning",
        policy: p,
        path: `${path}.ports[${k}].port`,
        message: `named port ${port.port} cannot be resolved on an ipBlock destination: it matches nothing there`,
        fix: "use the port number for ipBlock destinations",
      });
    }
    if (topo.workloads.length === 0) return;
    const selectsTarget = compileSelector(p.podSelector);
    const targets = topo.workloads.filter((w) => {
      if (dir === "ingress") return w.namespace === p.namespace && selectsTarget(w.pod.labels);
      if (peers.length === 0) return true;
      return peers.some((peer) => peerSelects(engine, p, peer, w.pod));
    });
    if (targets.length === 0) return;
    const found = targets.some((w) => (w.pod.ports ?? []).some((c) => c.name === port.port && c.protocol === protocol));
    if (!found) {
      add({
        id: "NP008-named-port-unmatched",
        severity: "warning",
        policy: p,
        path: `${path}.ports[${k}].port`,
        message: `named port ${port.port}/${protocol} matches no container port of the ${targets.length} workload(s) it applies to`,
        fix: "use a containerPort name that exists (with the same protocol), or the port number",
      });
    }
  });
}

function peerSelects(
  engine: PolicyEngine,
  p: NetworkPolicy,
  peer: PolicyPeer,
  pod: { namespace: string; labels: Record<string, string> },
): boolean {
  if (peer.ipBlock || peer.worldBlock || peer.entities || peer.fqdn) return false;
  const inNs = peer.namespaceSelector
    ? compileSelector(peer.namespaceSelector)(engine.labelsOfNamespace(pod.namespace))
    : pod.namespace === p.namespace;
  return inNs && compileSelector(peer.podSelector ?? {})(pod.labels);
}

function checkSelectsNothing(p: NetworkPolicy, topo: Topology, add: Add): void {
  if (topo.workloads.length === 0 || isEmptySelector(p.podSelector)) return;
  const selects = compileSelector(p.podSelector);
  if (topo.workloads.some((w) => w.namespace === p.namespace && selects(w.pod.labels))) return;
  add({
    id: "NP006-selects-nothing",
    severity: "warning",
    policy: p,
    path: "spec.podSelector",
    message: `podSelector of ${p.namespace}/${p.name} selects none of the ${topo.workloads.filter((w) => w.namespace === p.namespace).length} known workloads in ${p.namespace}`,
    fix: "check the labels against the pod template (kubectl get pods --show-labels), or delete the policy",
  });
}

const DNS_PORT = 53;

function allowsDns(ports: PolicyPort[] | undefined): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some(
    (x) =>
      (x.protocol ?? "TCP") === "UDP" &&
      (x.port === undefined ||
        (typeof x.port === "number" && x.port <= DNS_PORT && DNS_PORT <= (x.endPort ?? x.port)) ||
        x.port === "dns"),
  );
}

function checkDns(topo: Topology, add: Add): void {
  for (const p of topo.policies) {
    if (!effectivePolicyTypes(p).includes("Egress")) continue;
    const selects = compileSelector(p.podSelector);
    // Any egress rule of a policy in the namespace that could select the same pods and allows UDP 53.
    const dnsAllowed = topo.policies.some(
      (q) =>
        q.namespace === p.namespace &&
        effectivePolicyTypes(q).includes("Egress") &&
        (isEmptySelector(q.podSelector) || isEmptySelector(p.podSelector) || overlaps(q, selects, topo)) &&
        (q.egress ?? []).some((r) => allowsDns(r.ports)),
    );
    if (dnsAllowed) continue;
    add({
      id: "NP002-egress-without-dns",
      severity: "warning",
      policy: p,
      path: "spec.policyTypes",
      message: `${p.namespace}/${p.name} isolates egress and no egress rule in ${p.namespace} allows DNS (UDP 53): name lookups will fail`,
      fix: "add an egress rule to kube-system pods k8s-app=kube-dns on UDP and TCP port 53",
    });
  }
}

function overlaps(q: NetworkPolicy, selectsP: (l: Record<string, string>) => boolean, topo: Topology): boolean {
  const selectsQ = compileSelector(q.podSelector);
  return topo.workloads.some((w) => w.namespace === q.namespace && selectsP(w.pod.labels) && selectsQ(w.pod.labels));
}

function checkDefaultDeny(topo: Topology, add: Add): void {
  const namespaces = new Set<string>([
    ...topo.namespaces.map((n) => n.name),
    ...topo.policies.map((p) => p.namespace),
    ...topo.workloads.map((w) => w.namespace),
  ]);
  for (const ns of [...namespaces].sort()) {
    const missing: string[] = [];
    for (const type of ["Ingress", "Egress"] as const) {
      const has = topo.policies.some(
        (p) => p.namespace === ns && isEmptySelector(p.podSelector) && effectivePolicyTypes(p).includes(type),
      );
      if (!has) missing.push(type.toLowerCase());
    }
    if (missing.length === 0) continue;
    add({
      id: "NP005-no-default-deny",
      severity: missing.includes("ingress") ? "warning" : "info",
      namespace: ns,
      path: "",
      message: `namespace ${ns} has no default-deny for ${missing.join(" and ")}: pods no policy selects accept (send) anything`,
      fix: `add a policy in ${ns} with podSelector: {} and policyTypes: [${missing.map((m) => (m === "ingress" ? "Ingress" : "Egress")).join(", ")}]`,
    });
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
