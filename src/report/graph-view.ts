import type { DependencyGraph, GraphNode } from "../graph/index.js";

/**
 * The dependency graph (src/graph, the same one `flowpol graph` and generate use) as the report's
 * HTML page lays it out: its nodes with an allowed connection, one link per source and destination
 * with its ports. Pure.
 */
export interface GraphViewNode {
  id: string;
  label: string;
  type: string;
  namespace: string;
}

export interface GraphLink {
  source: string;
  target: string;
  ports: string[];
  flows: number;
}

export interface GraphView {
  nodes: GraphViewNode[];
  links: GraphLink[];
}

function label(n: GraphNode): string {
  if (n.type === "workload") return `${n.namespace}/${n.name}`;
  if (n.type === "entity") return n.entity;
  return n.dnsNames.length > 0 ? `${n.ip} (${n.dnsNames.join(", ")})` : n.ip;
}

export function graphView(graph: DependencyGraph): GraphView {
  const links = new Map<string, { source: string; target: string; ports: Set<string>; flows: number }>();
  for (const e of graph.allowed) {
    const key = `${e.from}>${e.to}`;
    const l = links.get(key) ?? { source: e.from, target: e.to, ports: new Set<string>(), flows: 0 };
    l.ports.add(e.port > 0 ? `${e.port}/${e.protocol}` : e.protocol);
    l.flows += e.count;
    links.set(key, l);
  }
  const used = new Set<string>();
  for (const l of links.values()) used.add(l.source).add(l.target);
  const ids = [...graph.nodes.keys()].sort();
  const short = new Map(ids.map((id, i) => [id, `n${i}`]));
  const nodes = ids
    .filter((id) => used.has(id))
    .map((id) => graph.nodes.get(id) as GraphNode)
    .map((n) => ({
      id: short.get(n.id)!,
      label: label(n),
      type: n.type,
      namespace: n.type === "workload" ? n.namespace : "",
    }))
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const sortPorts = (p: Set<string>) =>
    [...p].sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || (a < b ? -1 : 1));
  return {
    nodes,
    links: [...links.values()]
      .map((l) => ({
        source: short.get(l.source)!,
        target: short.get(l.target)!,
        ports: sortPorts(l.ports),
        flows: l.flows,
      }))
      .sort((a, b) => (a.source + a.target < b.source + b.target ? -1 : 1)),
  };
}
