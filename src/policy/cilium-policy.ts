import { NAMESPACE_NAME_LABEL } from "../model/labels.js";
import { ENTITIES, type Entity, type FqdnSelector, type NetworkPolicy, type PolicyPeer } from "./types.js";
import { parseNetworkPolicy, type ValidationIssue } from "./validate.js";

/**
 * CiliumNetworkPolicy (cilium.io/v2) to the engine's NetworkPolicy, so that one engine judges
 * every flavor. Exact for what it accepts:
 * - endpointSelector, from/toEndpoints: pod labels (`k8s:`/`any:` prefixes dropped); the
 *   `io.kubernetes.pod.namespace` key becomes a namespace name, `io.cilium.k8s.namespace.labels.X`
 *   a namespace label; a peer with no namespace key is in the policy's namespace (as Cilium does).
 * - from/toEntities: reserved identities, matched against the identity each observed IP was seen as.
 * - from/toCIDR, from/toCIDRSet: addresses outside the cluster (never pods or nodes, as Cilium).
 * - toFQDNs: destinations whose observed DNS names match.
 * - toPorts: ports (ANY: TCP, UDP and SCTP; port 0 or none: every port); `dns` L7 rules, which
 *   filter queries but not the connection.
 * - A rule with no peer and no port allows nothing (it only isolates); toPorts alone allows every peer.
 * Everything else (deny rules, L7 HTTP/Kafka rules, toServices, toGroups, requirements, node
 * selectors, `specs`, enableDefaultDeny: false...) is returned as `unsupported`: callers refuse the
 * policy loudly rather than judge without it.
 */
export interface TranslatedPolicy {
  policy: NetworkPolicy | undefined;
  issues: ValidationIssue[];
  unsupported: ValidationIssue[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const NAMESPACE_KEY = "io.kubernetes.pod.namespace";
const NAMESPACE_LABEL_PREFIX = "io.cilium.k8s.namespace.labels.";
const RULE_PEER_KEYS = {
  ingress: ["fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet"],
  egress: ["toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toFQDNs"],
} as const;
const SPEC_KEYS = new Set(["endpointSelector", "ingress", "egress", "description", "labels"]);

type Dir = "ingress" | "egress";
/** A peer as the k8s validator reads it, or one only Cilium has (added after validation). */
type Slot = { raw: Obj; world: boolean } | { peer: PolicyPeer };

export function translateCiliumPolicy(value: Obj): TranslatedPolicy {
  const unsupported: ValidationIssue[] = [];
  const issues: ValidationIssue[] = [];
  const refuse = (path: string, message: string) => unsupported.push({ path, message });
  const metadata = isObj(value.metadata) ? value.metadata : {};
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : undefined;
  if (value.specs !== undefined) refuse("specs", "a list of specs is not read: write one spec per policy");
  const spec = isObj(value.spec) ? value.spec : {};
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.has(key)) refuse(`spec.${key}`, `${key} is not modelled by flowpol's policy engine`);
  }
  const selector = translateSelector(spec.endpointSelector, "spec.endpointSelector", refuse);
  if (selector.namespaces && !selectsOwnNamespace(selector.namespaces, namespace)) {
    refuse("spec.endpointSelector", "an endpointSelector on namespace labels is not modelled");
  }
  const slots: Record<Dir, Slot[][]> = { ingress: [], egress: [] };
  const rawRules: Record<Dir, Obj[]> = { ingress: [], egress: [] };
  const policyTypes: string[] = [];
  for (const dir of ["ingress", "egress"] as const) {
    const rules = spec[dir];
    if (rules === undefined || rules === null) continue;
    if (!Array.isArray(rules)) {
      issues.push({ path: `spec.${dir}`, message: "must be a list" });
      continue;
    }
    // An empty list puts no endpoint into default deny (Cilium); one rule, even `{}`, does.
    if (rules.length === 0) continue;
    policyTypes.push(dir === "ingress" ? "Ingress" : "Egress");
    rules.forEach((rule, i) => {
      const path = `spec.${dir}[${i}]`;
      const r = translateRule(rule, dir, path, refuse, issues);
      if (!r) return;
      slots[dir].push(r.slots);
      rawRules[dir].push(r.raw);
    });
  }
  const raw = {
    kind: "NetworkPolicy",
    metadata: { name: metadata.name, namespace, labels: metadata.labels },
    spec: {
      podSelector: selector.pods ?? {},
      policyTypes,
      ingress: rawRules.ingress,
      egress: rawRules.egress,
    },
  };
  const parsed = parseNetworkPolicy(raw);
  issues.push(...parsed.issues);
  if (!parsed.policy || issues.length > 0 || unsupported.length > 0) return { policy: undefined, issues, unsupported };
  const policy: NetworkPolicy = { ...parsed.policy, kind: "CiliumNetworkPolicy" };
  policy.ingress = (policy.ingress ?? []).map((rule, i) => ({
    ...withPeers(rule.from, slots.ingress[i]!, (from) => ({ from })),
    ...(rule.ports ? { ports: rule.ports } : {}),
  }));
  policy.egress = (policy.egress ?? []).map((rule, i) => ({
    ...withPeers(rule.to, slots.egress[i]!, (to) => ({ to })),
    ...(rule.ports ? { ports: rule.ports } : {}),
  }));
  return { policy, issues, unsupported };
}

/** The validated k8s peers in their slots, Cilium-only peers in theirs; no slot: every peer. */
function withPeers<T>(
  validated: PolicyPeer[] | undefined,
  slots: Slot[],
  wrap: (peers: PolicyPeer[]) => T,
): T | Record<string, never> {
  if (slots.length === 0) return {};
  let next = 0;
  const peers = slots.map((slot) => {
    if ("peer" in slot) return slot.peer;
    const peer = validated![next++]!;
    return slot.world ? { worldBlock: peer.ipBlock! } : peer;
  });
  return wrap(peers);
}

function translateRule(
  rule: unknown,
  dir: Dir,
  path: string,
  refuse: (path: string, message: string) => void,
  issues: ValidationIssue[],
): { raw: Obj; slots: Slot[] } | undefined {
  if (!isObj(rule)) {
    issues.push({ path, message: "must be an object" });
    return undefined;
  }
  const peerKeys: readonly string[] = RULE_PEER_KEYS[dir];
  for (const key of Object.keys(rule)) {
    if (!peerKeys.includes(key) && key !== "toPorts")
      refuse(`${path}.${key}`, `${key} is not modelled by flowpol's policy engine`);
  }
  const slots: Slot[] = [];
  const listAt = (key: string): unknown[] => {
    const v = rule[key];
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    issues.push({ path: `${path}.${key}`, message: "must be a list" });
    return [];
  };
  const side = dir === "ingress" ? "from" : "to";
  listAt(`${side}Endpoints`).forEach((sel, j) => {
    const s = translateSelector(sel, `${path}.${side}Endpoints[${j}]`, refuse);
    slots.push({
      raw: { podSelector: s.pods ?? {}, ...(s.namespaces ? { namespaceSelector: s.namespaces } : {}) },
      world: false,
    });
  });
  const entities = listAt(`${side}Entities`);
  entities.forEach((e, j) => {
    if (!(ENTITIES as readonly unknown[]).includes(e)) {
      issues.push({ path: `${path}.${side}Entities[${j}]`, message: `${JSON.stringify(e)} is not a Cilium entity` });
    }
  });
  if (entities.length > 0)
    slots.push({
      peer: { entities: entities.filter((e): e is Entity => (ENTITIES as readonly unknown[]).includes(e)) },
    });
  for (const cidr of listAt(`${side}CIDR`)) slots.push({ raw: { ipBlock: { cidr } }, world: true });
  listAt(`${side}CIDRSet`).forEach((set, j) => {
    if (isObj(set) && set.cidrGroupRef !== undefined)
      refuse(`${path}.${side}CIDRSet[${j}]`, "cidrGroupRef is not modelled");
    else slots.push({ raw: { ipBlock: set }, world: true });
  });
  if (dir === "egress") {
    listAt("toFQDNs").forEach((f, j) => {
      const fqdn = readFqdn(f);
      if (fqdn) slots.push({ peer: { fqdn } });
      else
        issues.push({
          path: `${path}.toFQDNs[${j}]`,
          message: "give matchName or matchPattern (DNS name characters, `*`)",
        });
    });
  }
  const ports = translatePorts(listAt("toPorts"), `${path}.toPorts`, refuse, issues);
  const hasPeerKey = peerKeys.some((k) => rule[k] !== undefined);
  // No peer field at all with ports: every peer. Peer fields that select nothing: no peer.
  if (!hasPeerKey && ports.length === 0) return undefined;
  if (hasPeerKey && slots.length === 0) return undefined;
  const raw: Obj = { [side]: slots.filter((s) => "raw" in s).map((s) => (s as { raw: Obj }).raw) };
  if (ports.length > 0) raw.ports = ports;
  return { raw, slots };
}

const FQDN_NAME = /^[A-Za-z0-9_.-]+$/;
const FQDN_PATTERN = /^[A-Za-z0-9_.*-]+$/;

function readFqdn(raw: unknown): FqdnSelector | undefined {
  if (!isObj(raw)) return undefined;
  if (typeof raw.matchName === "string" && FQDN_NAME.test(raw.matchName) && raw.matchPattern === undefined) {
    return { matchName: raw.matchName };
  }
  if (typeof raw.matchPattern === "string" && FQDN_PATTERN.test(raw.matchPattern) && raw.matchName === undefined) {
    return { matchPattern: raw.matchPattern };
  }
  return undefined;
}

const PROTOCOLS_OF_ANY = ["TCP", "UDP", "SCTP"];

function translatePorts(
  entries: unknown[],
  path: string,
  refuse: (path: string, message: string) => void,
  issues: ValidationIssue[],
): Obj[] {
  const out: Obj[] = [];
  entries.forEach((entry, i) => {
    const at = `${path}[${i}]`;
    if (!isObj(entry)) {
      issues.push({ path: at, message: "must be an object" });
      return;
    }
    for (const key of Object.keys(entry)) {
      if (key !== "ports" && key !== "rules")
        refuse(`${at}.${key}`, `${key} is not modelled by flowpol's policy engine`);
    }
    if (isObj(entry.rules)) {
      for (const key of Object.keys(entry.rules)) {
        if (key !== "dns")
          refuse(`${at}.rules.${key}`, `L7 ${key} rules filter requests: flowpol judges connections only`);
      }
    }
    const ports = Array.isArray(entry.ports) ? entry.ports : [];
    if (ports.length === 0) {
      out.push(...PROTOCOLS_OF_ANY.map((protocol) => ({ protocol })));
      return;
    }
    ports.forEach((p, j) => {
      if (!isObj(p)) {
        issues.push({ path: `${at}.ports[${j}]`, message: "must be an object" });
        return;
      }
      const protocol = p.protocol === undefined || p.protocol === "ANY" ? PROTOCOLS_OF_ANY : [p.protocol];
      const text = p.port === undefined ? "0" : String(p.port);
      const port = /^\d+$/.test(text) ? Number(text) : text;
      for (const proto of protocol) {
        const k8s: Obj = { protocol: proto };
        if (port !== 0) k8s.port = port;
        if (p.endPort !== undefined && port !== 0) k8s.endPort = p.endPort;
        out.push(k8s);
      }
    });
  });
  return out;
}

interface TranslatedSelector {
  pods?: Obj;
  namespaces?: Obj;
}

/** A Cilium endpoint selector to a pod selector and (when it names namespaces) a namespace selector. */
function translateSelector(
  raw: unknown,
  path: string,
  refuse: (path: string, message: string) => void,
): TranslatedSelector {
  if (raw === undefined || raw === null) return {};
  if (!isObj(raw)) return { pods: raw as Obj };
  const pods: { matchLabels: Obj; matchExpressions: Obj[] } = { matchLabels: {}, matchExpressions: [] };
  const namespaces: { matchLabels: Obj; matchExpressions: Obj[] } = { matchLabels: {}, matchExpressions: [] };
  let namesNamespace = false;
  const route = (key: string, at: string): { into: typeof pods; key: string } | undefined => {
    const plain = key.replace(/^(k8s|any):/, "");
    if (plain.includes(":")) {
      refuse(at, `the label source of ${JSON.stringify(key)} is not modelled (only k8s: and any:)`);
      return undefined;
    }
    if (plain === NAMESPACE_KEY) {
      namesNamespace = true;
      return { into: namespaces, key: NAMESPACE_NAME_LABEL };
    }
    if (plain.startsWith(NAMESPACE_LABEL_PREFIX)) {
      namesNamespace = true;
      return { into: namespaces, key: plain.slice(NAMESPACE_LABEL_PREFIX.length) };
    }
    if (plain.startsWith("io.cilium.")) {
      refuse(at, `Cilium's ${JSON.stringify(plain)} label is not modelled`);
      return undefined;
    }
    return { into: pods, key: plain };
  };
  for (const key of Object.keys(raw)) {
    if (key !== "matchLabels" && key !== "matchExpressions") refuse(`${path}.${key}`, `${key} is not a selector field`);
  }
  if (isObj(raw.matchLabels)) {
    for (const [key, value] of Object.entries(raw.matchLabels)) {
      const r = route(key, `${path}.matchLabels`);
      if (r) r.into.matchLabels[r.key] = value;
    }
  } else if (raw.matchLabels !== undefined) pods.matchLabels = raw.matchLabels as Obj;
  if (Array.isArray(raw.matchExpressions)) {
    raw.matchExpressions.forEach((e, i) => {
      if (!isObj(e) || typeof e.key !== "string") {
        pods.matchExpressions.push(e as Obj);
        return;
      }
      const r = route(e.key, `${path}.matchExpressions[${i}]`);
      if (r) r.into.matchExpressions.push({ ...e, key: r.key });
    });
  }
  const compact = (s: typeof pods): Obj => ({
    ...(Object.keys(s.matchLabels).length > 0 ? { matchLabels: s.matchLabels } : {}),
    ...(s.matchExpressions.length > 0 ? { matchExpressions: s.matchExpressions } : {}),
  });
  return namesNamespace ? { pods: compact(pods), namespaces: compact(namespaces) } : { pods: compact(pods) };
}

function selectsOwnNamespace(selector: Obj, namespace: string | undefined): boolean {
  const labels = isObj(selector.matchLabels) ? selector.matchLabels : {};
  return (
    selector.matchExpressions === undefined &&
    Object.keys(labels).length === 1 &&
    labels[NAMESPACE_NAME_LABEL] === (namespace ?? "default")
  );
}
