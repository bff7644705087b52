import { ALLOWED_VERDICTS, type Verdict } from "../model/flow.js";
import type { CatalogEntry } from "./catalog.js";
import {
  cmp,
  compareEdges,
  type DependencyGraph,
  type EdgeRecordAccount,
  type EntityNode,
  edgeKey,
  type GraphEdge,
  type GraphNode,
  type GraphWarning,
  type SharedService,
  type WorkloadNode,
} from "./dependency-graph.js";
import type { EndpointRecord, GraphInput } from "./input.js";
import { inScope } from "./input.js";
import { chooseSelector, isVolatileLabel, matches } from "./selectors.js";

export interface GraphOptions {
  catalog: CatalogEntry[];
  /** A destination called by at least this many namespaces on one port is a detected shared service. */
  sharedMinNamespaces: number;
}

export const DEFAULT_SHARED_MIN_NAMESPACES = 3;

export function workloadId(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

const NODE_ENTITIES = new Set(["host", "remote-node"]);

/** Builds the dependency graph from plain store data. Pure and deterministic. */
export function buildGraph(input: GraphInput, options: GraphOptions): DependencyGraph {
  const warnings: GraphWarning[] = [];
  const { nodes, nodeOf, namedPeers, unplaced } = placeEndpoints(input);
  if (unplaced > 0) {
    warnings.push({ code: "unplaced-peers", message: `${unplaced} peer(s) had neither identity nor IP; left out` });
  }
  describeNodes(input, nodes, nodeOf);
  mergeIdentities(nodes, nodeOf);
  assignSelectors(nodes, warnings);

  const collected = collectEdges(input, nodes, nodeOf, namedPeers);
  const { allowed, denied, unaddressed } = collected;
  let belowMinFlows = 0;
  const allowedList: GraphEdge[] = [];
  for (const e of allowed.values()) {
    if (e.count < input.scope.minFlows) belowMinFlows++;
    else allowedList.push(e);
  }
  allowedList.sort(compareEdges);
  const unaddressedList = [...unaddressed.values()].filter((e) => e.count >= input.scope.minFlows).sort(compareEdges);
  const deniedList = [...denied.values()].sort(compareEdges);
  const records = accountRecords(input, collected, [...allowedList, ...unaddressedList, ...deniedList]);

  const namespaces = [
    ...new Set(
      [...nodes.values()].filter((n) => n.type === "workload" && n.inScope).map((n) => (n as WorkloadNode).namespace),
    ),
  ].sort(cmp);
  const namespaceLabels = new Map(input.namespaces.map((n) => [n.name, n.labels]));
  const shared = findSharedServices(nodes, allowedList, options);
  return {
    records,
    nodes,
    allowed: allowedList,
    denied: deniedList,
    shared,
    namespaces,
    namespaceLabels,
    warnings,
    belowMinFlows,
    unaddressed: unaddressedList,
  };
}

interface PlacedEndpoints {
  nodes: Map<string, GraphNode>;
  /** Store endpoint id to graph node id. */
  nodeOf: Map<number, string>;
  /** External peers known by name only (no address): endpoint id to peer id. */
  namedPeers: Map<number, string>;
  /** Peers with neither identity nor IP. */
  unplaced: number;
}

/** Every store endpoint to its graph node: entities first (their IPs claim peers), then workloads and IP peers. */
function placeEndpoints(input: GraphInput): PlacedEndpoints {
  const nodes = new Map<string, GraphNode>();
  const nodeOf = new Map<number, string>();

  const entityByIp = new Map<string, string>();
  for (const e of input.endpoints) {
    if (e.type !== "entity" || isNodeLocal(e)) continue;
    const id = entityNode(nodes, e).id;
    nodeOf.set(e.id, id);
    if (e.ip) entityByIp.set(e.ip, id);
  }
  let unplaced = 0;
  const namedPeers = new Map<number, string>();
  for (const e of input.endpoints) {
    if (e.type === "workload") {
      const id = workloadId(e.namespace, e.kind, e.name);
      const known = nodes.get(id);
      if (known) widen(known, e);
      else {
        nodes.set(id, {
          type: "workload",
          id,
          namespace: e.namespace,
          kind: e.kind,
          name: e.name,
          pods: [],
          podLabelSets: [],
          serviceAccounts: [],
          selector: { matchLabels: {}, exact: false, alsoSelects: [] },
          inScope: inScope(input.scope, e.namespace),
          flows: e.flows,
          first: e.first,
          last: e.last,
        });
      }
      nodeOf.set(e.id, id);
    } else if (e.type === "external" || e.type === "unknown" || isNodeLocal(e)) {
      if (!e.ip) {
        if (e.type === "external" && e.kind && e.name) namedPeers.set(e.id, namedPeerId(e));
        else unplaced++;
        continue;
      }
      const entity = entityByIp.get(e.ip);
      if (entity) {
        nodeOf.set(e.id, entity);
        continue;
      }
      const id = `ip:${e.ip}`;
      const known = nodes.get(id);
      if (known) {
        widen(known, e);
        if (e.type !== "unknown" && known.type === "external") known.unidentified = false;
      } else {
        nodes.set(id, {
          type: "external",
          id,
          ip: e.ip,
          dnsNames: [],
          unidentified: e.type === "unknown",
          flows: e.flows,
          first: e.first,
          last: e.last,
        });
      }
      nodeOf.set(e.id, id);
    }
  }
  return { nodes, nodeOf, namedPeers, unplaced };
}

/** Pods, service accounts and DNS names onto their nodes, every list in a stable order. */
function describeNodes(input: GraphInput, nodes: Map<string, GraphNode>, nodeOf: Map<number, string>): void {
  const workloadsByEndpoint = new Map<number, WorkloadNode>();
  for (const [endpointId, id] of nodeOf) {
    const n = nodes.get(id);
    if (n?.type === "workload") workloadsByEndpoint.set(endpointId, n);
  }
  for (const p of input.pods) {
    const w = workloadsByEndpoint.get(p.endpointId);
    if (!w) continue;
    w.pods.push(p.name);
    if (!w.podLabelSets.some((l) => sameLabels(l, p.labels))) w.podLabelSets.push(p.labels);
    if (w.podLabelSets.length > 1) w.podLabelSets = w.podLabelSets.filter((l) => Object.keys(l).length > 0);
    if (p.serviceAccount && !w.serviceAccounts.includes(p.serviceAccount)) w.serviceAccounts.push(p.serviceAccount);
  }
  for (const d of input.dnsNames) {
    const n = nodes.get(`ip:${d.ip}`);
    if (n?.type === "external" && !n.dnsNames.includes(d.name)) n.dnsNames.push(d.name);
  }
  for (const n of nodes.values()) {
    if (n.type === "workload") {
      n.pods.sort(cmp);
      n.serviceAccounts.sort(cmp);
      n.podLabelSets.sort((a, b) => cmp(JSON.stringify(a), JSON.stringify(b)));
    } else if (n.type === "external") n.dnsNames.sort(cmp);
    else n.ips.sort(cmp);
  }
}

/** Edge records to graph edges, by kind: allowed, denied, and allowed to a peer without an address. */
function collectEdges(
  input: GraphInput,
  nodes: Map<string, GraphNode>,
  nodeOf: Map<number, string>,
  namedPeers: Map<number, string>,
): CollectedEdges {
  const scoped = (id: string) => {
    const n = nodes.get(id);
    return n?.type === "workload" && n.inScope;
  };
  const allowed = new Map<string, GraphEdge>();
  const denied = new Map<string, GraphEdge>();
  const unaddressed = new Map<string, GraphEdge>();
  const left = { noPeer: 0, noEndInScope: 0, otherVerdict: 0 };
  const recordsOf = new Map<GraphEdge, number>();
  for (const r of input.edges) {
    const src = nodeOf.get(r.srcId);
    const dst = nodeOf.get(r.dstId);
    const from = src ?? namedPeers.get(r.srcId);
    const to = dst ?? namedPeers.get(r.dstId);
    if (!from || !to) {
      left.noPeer++;
      continue;
    }
    if (!(scoped(from) || scoped(to))) {
      left.noEndInScope++;
      continue;
    }
    const isAllowed = ALLOWED_VERDICTS.has(r.verdict as Verdict);
    if ((!isAllowed && r.verdict !== "dropped" && r.verdict !== "error") || ((!src || !dst) && !isAllowed)) {
      left.otherVerdict++;
      continue;
    }
    const target = !src || !dst ? unaddressed : isAllowed ? allowed : denied;
    const key = edgeKey({ from, to, protocol: r.protocol, port: r.port });
    let e = target.get(key);
    if (!e) {
      e = {
        from,
        to,
        protocol: r.protocol,
        port: r.port,
        count: 0,
        first: r.first,
        last: r.last,
        verdicts: [],
        systems: [],
        dropReasons: [],
      };
      target.set(key, e);
    }
    recordsOf.set(e, (recordsOf.get(e) ?? 0) + 1);
    e.count += r.count;
    e.first = Math.min(e.first, r.first);
    e.last = Math.max(e.last, r.last);
    addSorted(e.verdicts, r.verdict);
    addSorted(e.systems, r.system);
    if (r.dropReason) addSorted(e.dropReasons, r.dropReason);
  }
  return { allowed, denied, unaddressed, left, recordsOf };
}

interface CollectedEdges {
  allowed: Map<string, GraphEdge>;
  denied: Map<string, GraphEdge>;
  unaddressed: Map<string, GraphEdge>;
  /** Edge records left out, by reason. */
  left: { noPeer: number; noEndInScope: number; otherVerdict: number };
  /** How many edge records each connection merges. */
  recordsOf: Map<GraphEdge, number>;
}

/** Where the store's edge records went (see EdgeRecordAccount). */
function accountRecords(input: GraphInput, collected: CollectedEdges, shown: readonly GraphEdge[]): EdgeRecordAccount {
  const { left, recordsOf } = collected;
  const leftOut = input.leftOut ?? { outsideWindow: 0, noEndInScope: 0 };
  const below = [...collected.allowed.values(), ...collected.unaddressed.values()].filter(
    (e) => e.count < input.scope.minFlows,
  );
  return {
    stored: input.edges.length + leftOut.outsideWindow + leftOut.noEndInScope,
    shown: shown.reduce((n, e) => n + (recordsOf.get(e) ?? 0), 0),
    connections: shown.length,
    outsideWindow: leftOut.outsideWindow,
    noEndInScope: leftOut.noEndInScope + left.noEndInScope,
    noPeer: left.noPeer,
    otherVerdict: left.otherVerdict,
    belowMinFlows: below.reduce((n, e) => n + (recordsOf.get(e) ?? 0), 0),
    ...(input.window ? { window: input.window } : {}),
  };
}

/**
 * A peer Hubble knew only by its identity labels (kind `Identity`) is the same pods as the real
 * workload whose pods carry exactly those labels (volatile labels aside): merge it into that
 * workload when there is exactly one.
 */
function mergeIdentities(nodes: Map<string, GraphNode>, nodeOf: Map<number, string>): void {
  const stable = (l: Record<string, string>) =>
    JSON.stringify(
      Object.keys(l)
        .filter((k) => !isVolatileLabel(k))
        .sort()
        .map((k) => [k, l[k]]),
    );
  const workloads = [...nodes.values()].filter((n): n is WorkloadNode => n.type === "workload");
  for (const identity of workloads.filter((w) => w.kind === "Identity")) {
    const sets = new Set(identity.podLabelSets.map(stable));
    const candidates = workloads.filter(
      (w) =>
        w.kind !== "Identity" && w.namespace === identity.namespace && w.podLabelSets.some((l) => sets.has(stable(l))),
    );
    if (candidates.length !== 1) continue;
    const target = candidates[0] as WorkloadNode;
    target.flows += identity.flows;
    target.first = Math.min(target.first, identity.first);
    target.last = Math.max(target.last, identity.last);
    for (const [endpointId, id] of nodeOf) if (id === identity.id) nodeOf.set(endpointId, target.id);
    nodes.delete(identity.id);
  }
}

/** The id of a peer known by name only: `peer:Network/pub`, `peer:shop/NetworkSet/partners`. */
function namedPeerId(e: EndpointRecord): string {
  return `peer:${e.namespace ? `${e.namespace}/` : ""}${e.kind}/${e.name}`;
}

/**
 * A host address on a link-local block (NodeLocal DNSCache's 169.254.20.10, which Cilium reports
 * as `reserved:host`) is a node-local service, not a node: it stays its own IP peer, so rules for
 * the nodes never open it and rules for it never open the nodes.
 */
function isNodeLocal(e: EndpointRecord): boolean {
  return e.type === "entity" && NODE_ENTITIES.has(e.name) && isLinkLocal(e.ip);
}

function isLinkLocal(ip: string): boolean {
  return ip.startsWith("169.254.") || /^fe[89ab][0-9a-f]:/i.test(ip);
}

function entityNode(nodes: Map<string, GraphNode>, e: EndpointRecord): EntityNode {
  const entity = NODE_ENTITIES.has(e.name) ? "nodes" : e.name;
  const id = `entity:${entity}`;
  let n = nodes.get(id) as EntityNode | undefined;
  if (!n) {
    n = { type: "entity", id, entity, seenAs: [], ips: [], flows: 0, first: e.first, last: e.last };
    nodes.set(id, n);
  } else widen(n, e);
  if (!nodes.has(id)) nodes.set(id, n);
  if (e.ip && !n.ips.includes(e.ip)) n.ips.push(e.ip);
  addSorted(n.seenAs, e.name);
  if (n.flows === 0) n.flows = e.flows;
  return n;
}

function widen(n: { first: number; last: number; flows: number }, e: EndpointRecord): void {
  n.first = Math.min(n.first, e.first);
  n.last = Math.max(n.last, e.last);
  n.flows += e.flows;
}

function assignSelectors(nodes: Map<string, GraphNode>, warnings: GraphWarning[]): void {
  const byNamespace = new Map<string, WorkloadNode[]>();
  for (const n of nodes.values()) {
    if (n.type !== "workload") continue;
    const list = byNamespace.get(n.namespace) ?? [];
    list.push(n);
    byNamespace.set(n.namespace, list);
  }
  for (const list of byNamespace.values()) {
    list.sort((a, b) => cmp(a.id, b.id));
    for (const w of list) {
      w.selector = chooseSelector(
        w,
        list.filter((o) => o !== w),
      );
      if (!w.selector.exact && w.inScope) {
        warnings.push({
          code: "fallback-selector",
          message: `${w.id}: no exact selector (${w.selector.fallbackReason}); ${
            Object.keys(w.selector.matchLabels).length > 0
              ? `falling back to ${formatLabels(w.selector.matchLabels)}, which also selects ${w.selector.alsoSelects.join(", ")}`
              : "its directions with observed connections stay un-isolated in its namespace, and peers' rules select its whole namespace"
          }`,
        });
      }
    }
  }
}

export function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

function findSharedServices(
  nodes: Map<string, GraphNode>,
  allowed: GraphEdge[],
  options: GraphOptions,
): SharedService[] {
  const out: SharedService[] = [];
  const claimed = new Set<string>();
  for (const entry of options.catalog) {
    const matched = [...nodes.values()].filter((n) => catalogMatches(entry, n)).map((n) => n.id);
    if (matched.length === 0) continue;
    matched.sort(cmp);
    if (entry.role !== "caller") for (const id of matched) claimed.add(id);
    out.push({
      name: entry.name,
      role: entry.role,
      description: entry.description,
      origin: "catalog",
      nodes: matched,
      ports: [...entry.ports].sort((a, b) => cmp(a.protocol, b.protocol) || a.port - b.port),
    });
  }
  const callers = new Map<string, Set<string>>();
  for (const e of allowed) {
    const src = nodes.get(e.from);
    const dst = nodes.get(e.to);
    if (src?.type !== "workload" || !dst || claimed.has(e.to)) continue;
    // Only in-cluster destinations: an external host stays a per-workload egress, never namespace-wide.
    if (dst.type === "external" || (dst.type === "entity" && dst.entity === "nodes")) continue;
    const key = `${e.to}>${e.protocol}>${e.port}`;
    const set = callers.get(key) ?? new Set<string>();
    set.add(src.namespace);
    callers.set(key, set);
  }
  const detected = new Map<string, SharedService>();
  const usedNames = new Set(out.map((s) => s.name));
  for (const [key, namespaces] of [...callers].sort(([a], [b]) => cmp(a, b))) {
    if (namespaces.size < options.sharedMinNamespaces) continue;
    const [to, protocol, port] = key.split(">") as [string, string, string];
    let s = detected.get(to);
    if (!s) {
      const node = nodes.get(to) as GraphNode;
      s = {
        name: uniqueName(sharedName(node), usedNames),
        role: "callee",
        description: `detected: called by ${namespaces.size} namespaces on ${protocol}/${port}`,
        origin: "detected",
        nodes: [to],
        ports: [],
      };
      detected.set(to, s);
    }
    s.ports.push({ protocol, port: Number(port) });
  }
  out.push(...detected.values());
  return out.sort((a, b) => cmp(a.name, b.name));
}

function sharedName(n: GraphNode): string {
  if (n.type === "workload") return n.name;
  if (n.type === "entity") return n.entity;
  return `ip-${n.ip.replace(/[^0-9a-f]+/gi, "-").toLowerCase()}`;
}

function uniqueName(name: string, used: Set<string>): string {
  let candidate = name;
  for (let i = 2; used.has(candidate); i++) candidate = `${name}-${i}`;
  used.add(candidate);
  return candidate;
}

function catalogMatches(entry: CatalogEntry, n: GraphNode): boolean {
  const m = entry.match;
  if (m.ips.length > 0) {
    const ips = n.type === "external" ? [n.ip] : n.type === "entity" ? n.ips : [];
    if (!ips.some((ip) => m.ips.includes(ip))) return false;
  }
  if (m.entities.length > 0) {
    if (n.type !== "entity") return false;
    if (!m.entities.includes(n.entity) && !(n.entity === "nodes" && m.entities.includes("host"))) return false;
  }
  const needsWorkload = m.namespaces.length > 0 || m.workloads.length > 0 || m.labels.length > 0;
  if (!needsWorkload) return m.ips.length > 0 || m.entities.length > 0;
  if (n.type !== "workload") return false;
  if (m.namespaces.length > 0 && !m.namespaces.includes(n.namespace)) return false;
  if (m.workloads.length > 0 && !m.workloads.includes(n.name)) return false;
  if (m.labels.length > 0 && !m.labels.some((set) => n.podLabelSets.some((l) => matches(set, l)))) return false;
  return true;
}

function addSorted(list: string[], value: string): void {
  if (list.includes(value)) return;
  list.push(value);
  list.sort(cmp);
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
