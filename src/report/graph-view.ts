import type { StoreSnapshot } from "../store/read-report.js";
import { endpointLabel } from "./analyze.js";

/**
 * The dependency graph as the report draws it: endpoints with allowed flows as nodes, one link
 * per source and destination with its ports. An interim view built from the store snapshot; the
 * graph module of the synthesis work supersedes it once it is on main.
 */
export interface GraphNode {
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
  nodes: GraphNode[];
  links: GraphLink[];
}

const ALLOWED = new Set(["forwarded", "audit", "redirected"]);

export function graphView(snapshot: StoreSnapshot): GraphView {
  const byId = new Map(snapshot.endpoints.map((e) => [e.id, e]));
  const links = new Map<string, { source: number; target: number; ports: Set<string>; flows: number }>();
  for (const e of snapshot.edges) {
    if (!ALLOWED.has(e.verdict)) continue;
    const key = `${e.src}>${e.dst}`;
    const l = links.get(key) ?? { source: e.src, target: e.dst, ports: new Set<string>(), flows: 0 };
    l.ports.add(`${e.port}/${e.protocol}`);
    l.flows += e.count;
    links.set(key, l);
  }
  const used = new Set<number>();
  for (const l of links.values()) used.add(l.source).add(l.target);
  const nodes = [...used]
    .map((id) => byId.get(id)!)
    .map((e) => ({ id: `n${e.id}`, label: endpointLabel(e), type: e.type, namespace: e.namespace }))
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const sortPorts = (p: Set<string>) =>
    [...p].sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || (a < b ? -1 : 1));
  return {
    nodes,
    links: [...links.values()]
      .map((l) => ({ source: `n${l.source}`, target: `n${l.target}`, ports: sortPorts(l.ports), flows: l.flows }))
      .sort((a, b) => (a.source + a.target < b.source + b.target ? -1 : 1)),
  };
}

function mermaidText(s: string): string {
  return s.replace(/["<>&#]/g, (c) => `#${c.charCodeAt(0)};`);
}

/** Mermaid flowchart text (renders on GitHub and GitLab), namespaces as subgraphs. */
export function mermaidGraph(view: GraphView): string {
  const lines = ["flowchart LR"];
  const namespaces = [...new Set(view.nodes.filter((n) => n.type === "workload").map((n) => n.namespace))].sort();
  for (const ns of namespaces) {
    lines.push(`  subgraph ns_${ns.replace(/[^a-z0-9]/g, "_")}["${mermaidText(ns)}"]`);
    for (const n of view.nodes.filter((x) => x.type === "workload" && x.namespace === ns)) {
      lines.push(`    ${n.id}["${mermaidText(n.label.slice(ns.length + 1))}"]`);
    }
    lines.push("  end");
  }
  for (const n of view.nodes.filter((x) => x.type !== "workload")) {
    lines.push(
      n.type === "external" ? `  ${n.id}(["${mermaidText(n.label)}"])` : `  ${n.id}{{"${mermaidText(n.label)}"}}`,
    );
  }
  for (const l of view.links) lines.push(`  ${l.source} -->|"${mermaidText(l.ports.join(", "))}"| ${l.target}`);
  return lines.join("\n");
}
