import { isVolatileLabel } from "../graph/selectors.js";
import { CLOUD_METADATA_IPS } from "../model/cloud-metadata.js";
import { type CompiledRule, compilePeer, effectivePolicyTypes } from "./compile.js";
import { ipBlockMatches, ipEndpoint, PolicyEngine } from "./engine.js";
import {
  fullRange,
  type IpRange,
  parseCidr,
  parseIp,
  rangeContains,
  rangesOverlap,
  subtractRanges,
} from "./ip-range.js";
import { dnsToAnywhereRules, podsWithoutDns } from "./lint-dns.js";
import type { Topology } from "./objects.js";
import { compileSelector, isEmptySelector, selectorToString } from "./selector.js";
import {
  type LabelSelector,
  type Labels,
  NAMESPACE_NAME_LABEL,
  type NetworkPolicy,
  type Pod,
  type PolicyPeer,
  type PolicyPort,
} from "./types.js";

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
  "NP002-egress-without-dns": "pods isolated for egress with no path to the cluster DNS",
  "NP003-allow-all": "a rule that allows every peer on every port",
  "NP004-flat-trust": "namespaceSelector {} alone: every pod of every namespace",
  "NP005-no-default-deny": "a namespace with no default-deny policy",
  "NP006-selects-nothing": "a podSelector or peer that selects no known workload",
  "NP007-ipblock-covers-cluster": "an ipBlock that covers pod or Service addresses",
  "NP008-named-port-unmatched": "a named port that matches no container port",
  "NP009-named-port-to-ipblock": "a named port towards an ipBlock (it can match nothing)",
  "NP010-dns-to-anywhere": "an egress rule on port 53 with no `to`: DNS to any server",
  "NP011-egress-to-any-address": "an egress ipBlock of 0.0.0.0/0 or ::/0",
  "NP012-ipblock-covers-metadata": "an egress ipBlock that reaches the cloud metadata address",
  "NP013-rollout-label": "a selector on a label that changes with every rollout or run",
  "NP014-every-namespace": "a namespaceSelector other than {} that matches every namespace",
  "NP015-duplicate-name": "two NetworkPolicies with one name in one namespace",
  "NP016-invalid-name": "a policy name that is not a DNS subdomain",
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
          checkEveryNamespace(p, peer, peerPath, add);
          checkRolloutLabels(p, peer.podSelector, `${peerPath}.podSelector`, add);
          checkPeerSelectsNothing(p, peer, peerPath, topo, engine, add);
          if (!peer.ipBlock) return;
          checkIpBlock(p, peer, `${peerPath}.ipBlock`, clusterRanges, add);
          if (dir === "egress") checkEgressIpBlock(p, peer, `${peerPath}.ipBlock`, add);
        });
        checkNamedPorts(p, dir, rule.ports ?? [], peers, path, topo, engine, add);
      });
    }
    checkRolloutLabels(p, p.podSelector, "spec.podSelector", add);
    checkSelectsNothing(p, topo, add);
    checkDnsToAnywhere(p, engine, add);
  }
  checkDns(topo, engine, options, add);
  checkDefaultDeny(topo, add);
  checkNames(topo, add);
  return findings.sort(
    (a, b) =>
      compare(a.namespace, b.namespace) ||
      compare(a.policy?.name ?? "", b.policy?.name ?? "") ||
      compare(a.policy?.source?.file ?? "", b.policy?.source?.file ?? "") ||
      (a.policy?.source?.document ?? 0) - (b.policy?.source?.document ?? 0) ||
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

/**
 * A namespace created tomorrow carries only its name label; a namespaceSelector that matches it
 * matches every namespace there will ever be. `{}` alone is NP004; this is the same trust in disguise.
 */
const NEW_NAMESPACE: Labels = { [NAMESPACE_NAME_LABEL]: "a-namespace-created-later" };

function checkEveryNamespace(p: NetworkPolicy, peer: PolicyPeer, peerPath: string, add: Add): void {
  const selector = peer.namespaceSelector;
  if (!selector) return;
  const podsOpen = !peer.podSelector || isEmptySelector(peer.podSelector);
  if (!podsOpen) return;
  if (isEmptySelector(selector)) {
    add({
      id: "NP004-flat-trust",
      severity: "warning",
      policy: p,
      path: `${peerPath}.namespaceSelector`,
      message: `namespaceSelector {} matches every pod in every namespace: the flat network again`,
      fix: "select the namespaces by label (kubernetes.io/metadata.name: <ns>) and add a podSelector",
    });
    return;
  }
  if (!compileSelector(selector)(NEW_NAMESPACE)) return;
  const excluded = (selector.matchExpressions ?? [])
    .filter((r) => r.operator === "NotIn")
    .flatMap((r) => r.values ?? []);
  add({
    id: "NP014-every-namespace",
    severity: "warning",
    policy: p,
    path: `${peerPath}.namespaceSelector`,
    message: `namespaceSelector ${selectorToString(selector)} matches every namespace${excluded.length > 0 ? ` but ${excluded.join(", ")}` : ""}, including any created later: like {}, every pod of (nearly) every namespace`,
    fix: "select the namespaces that need access by name (kubernetes.io/metadata.name In [...]) and add a podSelector",
  });
}

function checkRolloutLabels(p: NetworkPolicy, selector: LabelSelector | undefined, path: string, add: Add): void {
  if (!selector) return;
  const keys = [
    ...Object.keys(selector.matchLabels ?? {}).map((k) => ({ key: k, at: `${path}.matchLabels.${k}` })),
    ...(selector.matchExpressions ?? []).map((r, i) => ({ key: r.key, at: `${path}.matchExpressions[${i}]` })),
  ];
  for (const { key, at } of keys) {
    if (!isVolatileLabel(key)) continue;
    add({
      id: "NP013-rollout-label",
      severity: "warning",
      policy: p,
      path: at,
      message: `selector on ${key}, a label that changes with every rollout, run or pod: the policy stops matching after the next one`,
      fix: "select on a label of the pod template that stays (app.kubernetes.io/name, app)",
    });
  }
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

/** Egress towards a whole address family, and towards the cloud metadata service. */
function checkEgressIpBlock(p: NetworkPolicy, peer: PolicyPeer, path: string, add: Add): void {
  const compiled = compilePeer(peer, p.namespace);
  if (compiled.kind !== "ipBlock") return;
  const cidr = peer.ipBlock!.cidr;
  if (rangeContains(compiled.block, fullRange(compiled.block.family))) {
    add({
      id: "NP011-egress-to-any-address",
      severity: "warning",
      policy: p,
      path: `${path}.cidr`,
      message: `egress to ${cidr}${compiled.except.length > 0 ? " (minus its except)" : ""}: every address of the internet, and whatever is reachable from it`,
      fix: "name the external CIDRs the workload calls (flowpol generate writes them from observed flows), or route internet traffic through an egress gateway",
    });
  }
  const metadata = [...CLOUD_METADATA_IPS].filter((ip) => {
    const endpoint = ipEndpoint(ip);
    return endpoint?.kind === "ip" && ipBlockMatches(compiled, endpoint.range);
  });
  if (metadata.length === 0) return;
  add({
    id: "NP012-ipblock-covers-metadata",
    severity: "warning",
    policy: p,
    path: `${path}.cidr`,
    message: `ipBlock ${cidr} reaches the cloud metadata address ${metadata.join(" and ")}: pods can read the node's cloud credentials`,
    fix: `add ${metadata.map((ip) => (ip.includes(":") ? `${ip}/128` : `${ip}/32`)).join(" and ")} to except, unless this workload must call the metadata service`,
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
    const peerMatchers = peers.map((peer) => peerMatcher(engine, p, peer));
    const targets = topo.workloads.filter((w) => {
      if (dir === "ingress") return w.namespace === p.namespace && selectsTarget(w.pod.labels);
      if (peers.length === 0) return true;
      return peerMatchers.some((selects) => selects(w.pod));
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

/** Whether one peer of a policy selects a pod, as the engine judges it (ipBlocks never: pods are matched by selector here). */
function peerMatcher(engine: PolicyEngine, p: NetworkPolicy, peer: PolicyPeer): (pod: Pod) => boolean {
  if (peer.ipBlock || peer.worldBlock || peer.entities || peer.fqdn) return () => false;
  const rule: CompiledRule = {
    ref: { policy: p.name, namespace: p.namespace, direction: "ingress", index: 0 },
    peers: [compilePeer(peer, p.namespace)],
    ports: undefined,
  };
  return (pod) => engine.ruleMatchesPeer(rule, { kind: "pod", pod });
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

/**
 * A from/to peer that selects none of the workloads given, judged only where the workloads are
 * known: its own namespace, or namespaces it names by kubernetes.io/metadata.name, all with
 * workloads given; or when its namespaceSelector names a known namespace by a label that namespace
 * does not carry (`name: monitoring`).
 */
function checkPeerSelectsNothing(
  p: NetworkPolicy,
  peer: PolicyPeer,
  peerPath: string,
  topo: Topology,
  engine: PolicyEngine,
  add: Add,
): void {
  if (topo.workloads.length === 0 || peer.ipBlock) return;
  const nsSelector = peer.namespaceSelector;
  const populated = new Set(topo.workloads.map((w) => w.namespace));
  const targets = nsSelector ? namedNamespaces(nsSelector) : [p.namespace];
  if (targets && targets.length > 0 && targets.every((ns) => populated.has(ns))) {
    const selects = peerMatcher(engine, p, peer);
    if (topo.workloads.some((w) => selects(w.pod))) return;
    const count = topo.workloads.filter((w) => targets.includes(w.namespace)).length;
    add({
      id: "NP006-selects-nothing",
      severity: "warning",
      policy: p,
      path: `${peerPath}.podSelector`,
      message: `podSelector ${selectorToString(peer.podSelector ?? {})} selects none of the ${count} known workloads in ${targets.join(", ")}`,
      fix: "check the labels against the pod template (kubectl get pods --show-labels)",
    });
    return;
  }
  if (!nsSelector) return;
  const known = [...new Set([...topo.namespaces.map((n) => n.name), ...populated])];
  if (known.some((ns) => compileSelector(nsSelector)(engine.labelsOfNamespace(ns)))) return;
  const meant = [
    ...Object.entries(nsSelector.matchLabels ?? {}),
    ...(nsSelector.matchExpressions ?? [])
      .filter((r) => r.operator === "In")
      .flatMap((r) => (r.values ?? []).map((v) => [r.key, v] as const)),
  ].find(([key, value]) => key !== NAMESPACE_NAME_LABEL && known.includes(value));
  if (!meant) return;
  add({
    id: "NP006-selects-nothing",
    severity: "warning",
    policy: p,
    path: `${peerPath}.namespaceSelector`,
    message: `namespaceSelector ${selectorToString(nsSelector)} matches no namespace: namespace ${meant[1]} has no label ${meant[0]} (a namespace carries only ${NAMESPACE_NAME_LABEL} unless its manifest adds more)`,
    fix: `select it as ${NAMESPACE_NAME_LABEL}: ${meant[1]}, or label the namespace (and pass its manifest)`,
  });
}

/** The namespaces a selector pins by name (kubernetes.io/metadata.name), or undefined when it selects by other labels. */
function namedNamespaces(selector: LabelSelector): string[] | undefined {
  const byLabel = selector.matchLabels?.[NAMESPACE_NAME_LABEL];
  if (byLabel !== undefined) return [byLabel];
  const inList = (selector.matchExpressions ?? []).find((r) => r.key === NAMESPACE_NAME_LABEL && r.operator === "In");
  return inList?.values;
}

function checkDns(topo: Topology, engine: PolicyEngine, options: LintOptions, add: Add): void {
  for (const [p, who] of podsWithoutDns(topo, engine, options.clusterCidrs ?? [])) {
    const shown = who.length > 3 ? `${who.slice(0, 3).join(", ")} and ${who.length - 3} more` : who.join(", ");
    add({
      id: "NP002-egress-without-dns",
      severity: "warning",
      policy: p,
      path: p.policyTypes ? "spec.policyTypes" : "spec.egress",
      message: `${p.namespace}/${p.name} isolates egress of ${shown}, and no egress rule lets them reach the cluster DNS (UDP 53): name lookups will fail`,
      fix: `allow egress to namespaceSelector ${NAMESPACE_NAME_LABEL}: kube-system with podSelector k8s-app: kube-dns on UDP and TCP 53 (if your DNS pods or their namespace carry other labels, pass their manifests)`,
    });
  }
}

function checkDnsToAnywhere(p: NetworkPolicy, engine: PolicyEngine, add: Add): void {
  for (const i of dnsToAnywhereRules(p, engine)) {
    add({
      id: "NP010-dns-to-anywhere",
      severity: "warning",
      policy: p,
      path: `spec.egress[${i}]`,
      message: `egress rule ${i} of ${p.namespace}/${p.name} allows port 53 to every destination: any DNS server, and a channel out of the cluster`,
      fix: `add to: namespaceSelector ${NAMESPACE_NAME_LABEL}: kube-system with podSelector k8s-app: kube-dns`,
    });
  }
}

function checkNames(topo: Topology, add: Add): void {
  for (const n of topo.nameProblems) {
    add({
      id: n.kind === "duplicate" ? "NP015-duplicate-name" : "NP016-invalid-name",
      severity: "error",
      policy: n.policy,
      path: n.issue.path,
      message:
        n.kind === "duplicate"
          ? `${n.issue.message}; lint reviewed the first only`
          : `policy name ${n.issue.message}: the API server rejects it`,
      fix:
        n.kind === "duplicate"
          ? "rename one of them or merge their rules: kubectl apply keeps only the one applied last"
          : "use lowercase letters, digits, '-' and '.' (e.g. replace '_' with '-')",
    });
  }
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
