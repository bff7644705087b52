import { cmp, type DependencyGraph, type GraphEdge, type GraphNode } from "../graph/index.js";

/**
 * The dependency graph (src/graph, the one `flowpol graph` and generate use) as the HTML pages draw
 * it: every node with a connection, grouped by namespace (platform entities and peers outside the
 * cluster in groups of their own), and one link per source, destination and verdict with its
 * ports and flow counts. Peers known by name only (Calico's aggregated `pub` and `pvt`, NetworkSets)
 * are nodes of their own: the public internet is not the private network. Pure and deterministic.
 */

export type ViewNodeType = "workload" | "entity" | "external" | "peer";

/** Where a group sits: namespaces in the middle, callers from outside first, called peers last. */
export type ViewGroupPlace = "first" | "middle" | "last";

export interface ViewGroup {
  id: string;
  label: string;
  place: ViewGroupPlace;
}

export interface ViewNode {
  /** Short id (`n0`...), stable for one graph. */
  id: string;
  /** The graph's node id (`shop/Deployment/cart`, `ip:1.2.3.4`, `peer:Network/pub`). */
  key: string;
  /** What the node is called everywhere (`shop/cart`, `api.stripe.com`, `public internet`). */
  label: string;
  /** The name drawn in its group's box (`cart`: the box says `shop`). */
  name: string;
  /** The second line: the kind, the address, what a named peer stands for. */
  detail: string;
  type: ViewNodeType;
  group: string;
}

export type LinkVerdict = "allowed" | "denied";

export interface ViewPort {
  /** `8080/TCP`, `ICMP`. */
  port: string;
  flows: number;
}

export interface ViewLink {
  source: string;
  target: string;
  verdict: LinkVerdict;
  ports: ViewPort[];
  flows: number;
}

export interface GraphView {
  groups: ViewGroup[];
  nodes: ViewNode[];
  links: ViewLink[];
}

/** Calico's aggregated networks (flow logs with IPs aggregated away, Goldmane). */
const NAMED_NETWORKS: Record<string, { label: string; detail: string }> = {
  pub: { label: "public internet", detail: "Calico pub: public addresses, aggregated" },
  pvt: { label: "private network", detail: "Calico pvt: private addresses outside the cluster, aggregated" },
};

const PLATFORM = "group:platform";
const CALLERS = "group:outside-callers";
const CALLED = "group:outside-called";

export function graphView(graph: DependencyGraph): GraphView {
  const edges: Array<{ e: GraphEdge; verdict: LinkVerdict }> = [
    ...graph.allowed.map((e) => ({ e, verdict: "allowed" as const })),
    ...graph.unaddressed.map((e) => ({ e, verdict: "allowed" as const })),
    ...graph.denied.map((e) => ({ e, verdict: "denied" as const })),
  ];
  const used = new Set<string>();
  for (const { e } of edges) used.add(e.from).add(e.to);
  const keys = [...used].sort(cmp);
  const short = new Map(keys.map((key, i) => [key, `n${i}`]));
  const outside = (key: string) => key.startsWith("ip:") || key.startsWith("peer:");
  const calls = new Set(edges.filter(({ e }) => outside(e.from)).map(({ e }) => e.from));
  const called = new Set(edges.filter(({ e }) => outside(e.to)).map(({ e }) => e.to));

  const nodes: ViewNode[] = keys.map((key) => {
    const id = short.get(key) as string;
    const n = graph.nodes.get(key);
    if (n) return { id, key, ...describe(n), group: groupOf(n, calls.has(key) && !called.has(key)) };
    return {
      id,
      key,
      ...describeNamedPeer(key),
      type: "peer",
      group: calls.has(key) && !called.has(key) ? CALLERS : CALLED,
    };
  });

  const groups = new Map<string, ViewGroup>();
  for (const n of nodes) {
    if (groups.has(n.group)) continue;
    if (n.group === PLATFORM) groups.set(n.group, { id: n.group, label: "platform", place: "middle" });
    else if (n.group === CALLERS) groups.set(n.group, { id: n.group, label: "outside: callers", place: "first" });
    else if (n.group === CALLED) groups.set(n.group, { id: n.group, label: "outside: called", place: "last" });
    else groups.set(n.group, { id: n.group, label: n.group.slice("ns:".length), place: "middle" });
  }

  const links = new Map<string, ViewLink & { byPort: Map<string, number> }>();
  for (const { e, verdict } of edges) {
    const source = short.get(e.from) as string;
    const target = short.get(e.to) as string;
    const k = `${source}>${target}>${verdict}`;
    const l = links.get(k) ?? { source, target, verdict, ports: [], flows: 0, byPort: new Map<string, number>() };
    const port = e.port > 0 ? `${e.port}/${e.protocol}` : e.protocol;
    l.byPort.set(port, (l.byPort.get(port) ?? 0) + e.count);
    l.flows += e.count;
    links.set(k, l);
  }
  return {
    groups: [...groups.values()].sort((a, b) => cmp(a.id, b.id)),
    nodes,
    links: [...links.values()]
      .map(({ byPort, ...l }) => ({
        ...l,
        ports: [...byPort].map(([port, flows]) => ({ port, flows })).sort((a, b) => comparePorts(a.port, b.port)),
      }))
      .sort((a, b) => cmp(a.source, b.source) || cmp(a.target, b.target) || cmp(a.verdict, b.verdict)),
  };
}

function comparePorts(a: string, b: string): number {
  return Number.parseInt(a, 10) - Number.parseInt(b, 10) || cmp(a, b);
}

function groupOf(n: GraphNode, onlyCalls: boolean): string {
  if (n.type === "workload") return `ns:${n.namespace}`;
  if (n.type === "entity") return PLATFORM;
  return onlyCalls ? CALLERS : CALLED;
}

function describe(n: GraphNode): Pick<ViewNode, "label" | "name" | "detail" | "type"> {
  if (n.type === "workload") {
    return { label: `${n.namespace}/${n.name}`, name: n.name, detail: n.kind, type: "workload" };
  }
  if (n.type === "entity") {
    const detail = n.seenAs.length > 0 ? n.seenAs.join(", ") : "platform";
    return { label: n.entity, name: n.entity, detail, type: "entity" };
  }
  const name = n.dnsNames[0];
  return {
    label: name ?? n.ip,
    name: name ?? n.ip,
    detail: name ? `${n.ip}${n.dnsNames.length > 1 ? ` (+${n.dnsNames.length - 1} names)` : ""}` : "no DNS name seen",
    type: "external",
  };
}

/** `peer:Network/pub`, `peer:shop/NetworkSet/partners`. */
export function describeNamedPeer(key: string): Pick<ViewNode, "label" | "name" | "detail"> {
  const parts = key.slice("peer:".length).split("/");
  const name = parts[parts.length - 1] ?? "";
  const kind = parts[parts.length - 2] ?? "";
  const namespace = parts.length > 2 ? (parts[0] ?? "") : "";
  const label = namedPeerLabel(kind, name, namespace);
  const network = kind === "Network" ? NAMED_NETWORKS[name] : undefined;
  return { label, name: label, detail: network ? network.detail : `${kind}, no address` };
}

/**
 * A peer the source named but gave no address: Calico's `pub` is the public internet, `pvt` the
 * private network (never both "world"); a NetworkSet is its namespace and name.
 */
export function namedPeerLabel(kind: string, name: string, namespace = ""): string {
  const network = kind === "Network" ? NAMED_NETWORKS[name] : undefined;
  if (network) return network.label;
  return `${namespace ? `${namespace}/` : ""}${name || kind || "unnamed peer"}`;
}
