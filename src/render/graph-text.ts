import { compareEdges, type DependencyGraph, type GraphEdge, type GraphNode } from "../graph/index.js";
import { isoWindow, windowLines } from "../model/edge-hours.js";
import { describeNamedPeer } from "./graph-view.js";

/** `flowpol graph` as a table, JSON, Graphviz DOT or Mermaid. Same graph, same text. */

const port = (e: GraphEdge) => (e.port > 0 ? `${e.protocol}/${e.port}` : e.protocol);

export function graphTable(g: DependencyGraph): string {
  const rows: string[][] = [["FROM", "TO", "PORT", "FLOWS", "VERDICTS"]];
  for (const e of allowedEdges(g)) {
    const from = g.nodes.has(e.from) ? e.from : label(g, e.from);
    rows.push([from, label(g, e.to), port(e), String(e.count), e.verdicts.join(",")]);
  }
  const lines = align(rows);
  if (g.denied.length > 0) {
    lines.push("", "DENIED TODAY");
    const denied: string[][] = [["FROM", "TO", "PORT", "FLOWS", "DROP REASONS"]];
    for (const e of g.denied) denied.push([e.from, label(g, e.to), port(e), String(e.count), e.dropReasons.join(",")]);
    lines.push(...align(denied));
  }
  if (g.shared.length > 0) {
    lines.push("", "SHARED SERVICES");
    const shared: string[][] = [["NAME", "ROLE", "ORIGIN", "NODES"]];
    for (const s of g.shared) shared.push([s.name, s.role, s.origin, s.nodes.join(",")]);
    lines.push(...align(shared));
  }
  const note = recordsNote(g);
  if (note.length > 0) lines.push("", "EDGE RECORDS", ...note);
  return `${lines.join("\n")}\n`;
}

/**
 * Why the graph shows fewer connections than `flowpol stats` counts edges, and which time window
 * the counts are of. Empty when every record of the store is in a connection shown, and no window.
 */
export function recordsNote(g: DependencyGraph): string[] {
  const r = g.records;
  const hidden: Array<[number, string]> = [
    [
      r.noEndInScope,
      'no end is a workload in a namespace that gets policies (node to world, kube-system, excluded namespaces: --namespace or --exclude-namespace "" show them)',
    ],
    [r.outsideWindow, "outside --since/--until"],
    [r.belowMinFlows, "in connections below --min-flows"],
    [r.noPeer, "an end with neither identity nor address"],
    [r.otherVerdict, "a verdict neither allowed nor dropped (or dropped on the way to a peer with no address)"],
  ];
  const out: string[] = [];
  const left = hidden.reduce((n, [k]) => n + k, 0);
  if (left > 0 || r.shown !== r.connections) {
    out.push(
      `${r.stored} edge records in the store (flowpol stats counts records: one per verdict, source and reported identity); ${r.connections} connections here merge ${r.shown} of them${left > 0 ? `; ${left} hidden:` : "."}`,
      ...hidden.filter(([n]) => n > 0).map(([n, why]) => `  ${n} ${why}`),
    );
  }
  if (r.window) out.push(...windowLines(r.window));
  return out;
}

/**
 * The allowed connections, with those to a peer the source named but gave no address (Calico's
 * `pub` and `pvt`, NetworkSets) in their sorted place: the graph keeps them apart, as no ipBlock
 * can allow them, but they are connections the store holds all the same.
 */
function allowedEdges(g: DependencyGraph): GraphEdge[] {
  return g.unaddressed.length === 0 ? g.allowed : [...g.allowed, ...g.unaddressed].sort(compareEdges);
}

/** The peers known by name only, as the ids the graph's connections use: `peer:Network/pub`. */
function namedPeers(g: DependencyGraph): string[] {
  const ids = new Set<string>();
  for (const e of g.unaddressed) for (const id of [e.from, e.to]) if (!g.nodes.has(id)) ids.add(id);
  return [...ids].sort();
}

function label(g: DependencyGraph, id: string): string {
  const n = g.nodes.get(id);
  if (!n && id.startsWith("peer:")) return `${id} (${describeNamedPeer(id).label})`;
  return n?.type === "external" && n.dnsNames.length > 0 ? `${id} (${n.dnsNames.join(",")})` : id;
}

function align(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

export function graphJson(g: DependencyGraph): string {
  const nodes = [...g.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return `${JSON.stringify(
    {
      namespaces: g.namespaces,
      nodes,
      allowed: g.allowed,
      ...(g.unaddressed.length > 0 ? { unaddressed: g.unaddressed } : {}),
      denied: g.denied,
      shared: g.shared,
      warnings: g.warnings,
      belowMinFlows: g.belowMinFlows,
      ...(g.records.window ? { window: isoWindow(g.records.window) } : {}),
    },
    isoTimes,
    2,
  )}\n`;
}

/** Times are ISO 8601 in every JSON flowpol prints: `first` and `last` are epoch milliseconds in the graph. */
function isoTimes(key: string, value: unknown): unknown {
  return (key === "first" || key === "last") && typeof value === "number" ? new Date(value).toISOString() : value;
}

function nodeGroup(n: GraphNode): string {
  if (n.type === "workload") return n.namespace;
  return n.type === "entity" ? "platform" : "external";
}

function nodeLabel(n: GraphNode): string {
  if (n.type === "workload") return `${n.name}\n${n.kind}`;
  if (n.type === "entity") return n.entity;
  return n.dnsNames.length > 0 ? `${n.ip}\n${n.dnsNames.join("\n")}` : n.ip;
}

function groups(g: DependencyGraph): Map<string, GraphNode[]> {
  const out = new Map<string, GraphNode[]>();
  const ids = [...g.nodes.keys()].sort();
  for (const id of ids) {
    const n = g.nodes.get(id) as GraphNode;
    const list = out.get(nodeGroup(n)) ?? [];
    list.push(n);
    out.set(nodeGroup(n), list);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const dotQuote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

export function graphDot(g: DependencyGraph): string {
  const lines = ["digraph flowpol {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];'];
  let i = 0;
  for (const [group, nodes] of groups(g)) {
    lines.push(`  subgraph ${dotQuote(`cluster_${i++}`)} {`, `    label=${dotQuote(group)};`);
    for (const n of nodes) {
      const shape = n.type === "workload" ? "box" : n.type === "entity" ? "hexagon" : "ellipse";
      lines.push(`    ${dotQuote(n.id)} [label=${dotQuote(nodeLabel(n))}, shape=${shape}];`);
    }
    lines.push("  }");
  }
  const peers = namedPeers(g);
  if (peers.length > 0) {
    lines.push(`  subgraph ${dotQuote(`cluster_${i++}`)} {`, `    label=${dotQuote("named peers")};`);
    for (const id of peers)
      lines.push(`    ${dotQuote(id)} [label=${dotQuote(describeNamedPeer(id).label)}, shape=ellipse];`);
    lines.push("  }");
  }
  for (const e of allowedEdges(g))
    lines.push(`  ${dotQuote(e.from)} -> ${dotQuote(e.to)} [label=${dotQuote(port(e))}];`);
  for (const e of g.denied) {
    lines.push(`  ${dotQuote(e.from)} -> ${dotQuote(e.to)} [label=${dotQuote(port(e))}, style=dashed, color=red];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

export function graphMermaid(g: DependencyGraph): string {
  const ids = new Map<string, string>();
  const peers = namedPeers(g);
  [...g.nodes.keys(), ...peers].sort().forEach((id, i) => {
    ids.set(id, `n${i}`);
  });
  const text = (s: string) => s.replace(/"/g, "#quot;").replace(/\n/g, "<br/>");
  const lines = ["flowchart LR"];
  let i = 0;
  for (const [group, nodes] of groups(g)) {
    lines.push(`  subgraph g${i++}["${text(group)}"]`);
    for (const n of nodes) lines.push(`    ${ids.get(n.id)}["${text(nodeLabel(n))}"]`);
    lines.push("  end");
  }
  if (peers.length > 0) {
    lines.push(`  subgraph g${i++}["named peers"]`);
    for (const id of peers) lines.push(`    ${ids.get(id)}["${text(describeNamedPeer(id).label)}"]`);
    lines.push("  end");
  }
  for (const e of allowedEdges(g)) lines.push(`  ${ids.get(e.from)} -->|${port(e)}| ${ids.get(e.to)}`);
  for (const e of g.denied) lines.push(`  ${ids.get(e.from)} -.->|${port(e)} denied| ${ids.get(e.to)}`);
  return `${lines.join("\n")}\n`;
}
