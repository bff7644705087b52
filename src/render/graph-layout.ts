import elk from "elkjs/lib/elk.bundled.js";
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import type { GraphView, ViewLink } from "./graph-view.js";

/**
 * Positions for the graph pages, computed when the page is generated (no layout code in the page):
 * ELK's layered algorithm (elkjs), callers to the left of what they call, each namespace a box
 * around its workloads, edges routed around the boxes. Sizes come from the text (an estimate of the
 * rendered width), coordinates are rounded to whole pixels: the same view gives the same layout.
 */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A line drawn: one link, or a bundle of the links between one node and several nodes of another
 * group (every workload of a namespace to the cluster DNS, a scraper to every workload): drawn to
 * the group's box, so fans of shared traffic do not hide the rest. The panel lists them one by one.
 */
export interface LaidLink {
  verdict: ViewLink["verdict"];
  /** The node or group ids the line joins. */
  source: string;
  target: string;
  /** Every node the line stands for (both ends, all members of a bundle). */
  ends: string[];
  links: ViewLink[];
  /** Polyline from source to target, absolute. */
  points: Array<{ x: number; y: number }>;
  label: Box & { text: string };
}

export interface GraphLayout {
  width: number;
  height: number;
  groups: Array<Box & { id: string; label: string }>;
  nodes: Array<Box & { id: string }>;
  links: LaidLink[];
}

/** Rendered text widths, estimated (system-ui): node names 12 px bold, details and edge labels 11 px. */
export const TEXT = { name: 7.2, detail: 6.2, edge: 6.2 } as const;
export const NODE_HEIGHT = 36;
export const EDGE_LABEL_HEIGHT = 14;
/** Longest name drawn whole; longer ones are cut with an ellipsis (the full name is the tooltip and the panel). */
export const MAX_CHARS = 38;
const MAX_PORTS = 3;

export function cut(s: string, max = MAX_CHARS): string {
  return s.length > max ? `${s.slice(0, max - 1)}\u2026` : s;
}

/** `8080/TCP · 350`, `53/UDP, 53/TCP · 58`, `80/TCP, 443/TCP, +2 · 12`; a bundle adds how many peers. */
export function linkText(links: readonly ViewLink[], peers = 0): string {
  const flows = new Map<string, number>();
  for (const l of links) for (const p of l.ports) flows.set(p.port, (flows.get(p.port) ?? 0) + p.flows);
  const all = [...flows.keys()].sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || (a < b ? -1 : 1));
  const ports = all.slice(0, MAX_PORTS);
  if (all.length > MAX_PORTS) ports.push(`+${all.length - MAX_PORTS}`);
  const total = links.reduce((n, l) => n + l.flows, 0);
  return `${ports.join(", ")} \u00b7 ${total}${peers > 0 ? ` (${peers} peers)` : ""}`;
}

/** Bundled from this many nodes of one group on. */
export const BUNDLE_MIN = 3;

interface Line {
  source: string;
  target: string;
  verdict: ViewLink["verdict"];
  links: ViewLink[];
  peers: number;
}

function lines(view: GraphView): Line[] {
  const groupOf = new Map(view.nodes.map((n) => [n.id, n.group]));
  const left: ViewLink[] = [];
  const out: Line[] = [];
  const fans = (list: readonly ViewLink[], key: (l: ViewLink) => string, many: (l: ViewLink) => string) => {
    const by = new Map<string, ViewLink[]>();
    for (const l of list) {
      if (groupOf.get(l.source) === groupOf.get(l.target)) continue;
      const k = key(l);
      const links = by.get(k);
      if (links) links.push(l);
      else by.set(k, [l]);
    }
    const bundled = new Set<ViewLink>();
    for (const ls of by.values()) {
      const peers = new Set(ls.map(many)).size;
      if (peers < BUNDLE_MIN) continue;
      for (const l of ls) bundled.add(l);
      out.push({
        ...bundleEnds(ls[0] as ViewLink, key === fanInKey),
        verdict: (ls[0] as ViewLink).verdict,
        links: ls,
        peers,
      });
    }
    return list.filter((l) => !bundled.has(l));
  };
  const fanInKey = (l: ViewLink) => `${groupOf.get(l.source)}>${l.target}>${l.verdict}`;
  const fanOutKey = (l: ViewLink) => `${l.source}>${groupOf.get(l.target)}>${l.verdict}`;
  const bundleEnds = (l: ViewLink, fanIn: boolean) =>
    fanIn
      ? { source: groupOf.get(l.source) as string, target: l.target }
      : { source: l.source, target: groupOf.get(l.target) as string };
  const rest = fans(
    fans(view.links, fanInKey, (l) => l.source),
    fanOutKey,
    (l) => l.target,
  );
  for (const l of rest) left.push(l);
  for (const l of left) out.push({ source: l.source, target: l.target, verdict: l.verdict, links: [l], peers: 0 });
  const first = (x: Line) => x.links[0] as ViewLink;
  return out.sort(
    (a, b) =>
      cmpStr(a.source, b.source) ||
      cmpStr(a.target, b.target) ||
      cmpStr(a.verdict, b.verdict) ||
      cmpStr(first(a).source, first(b).source),
  );
}

const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const ROOT_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.layered.spacing.nodeNodeBetweenLayers": "28",
  "elk.layered.spacing.edgeNodeBetweenLayers": "10",
  "elk.spacing.nodeNode": "10",
  "elk.spacing.edgeNode": "8",
  "elk.spacing.edgeEdge": "6",
  "elk.spacing.edgeLabel": "2",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.padding": "[top=8,left=8,bottom=8,right=8]",
  "elk.randomSeed": "1",
  "elk.json.edgeCoords": "ROOT",
  "elk.json.shapeCoords": "ROOT",
};

const GROUP_OPTIONS = {
  "elk.padding": "[top=26,left=10,bottom=10,right=10]",
  "elk.nodeLabels.placement": "[H_LEFT, V_TOP, INSIDE]",
};

const round = (n: number | undefined) => Math.round(n ?? 0);

export async function layoutGraph(view: GraphView, options: Record<string, string> = {}): Promise<GraphLayout> {
  const constraint = { first: "FIRST", last: "LAST", middle: "NONE" } as const;
  const groups: ElkNode[] = view.groups.map((g) => ({
    id: g.id,
    labels: [{ text: g.label, width: g.label.length * TEXT.name, height: 14 }],
    layoutOptions: { ...GROUP_OPTIONS, "elk.layered.layering.layerConstraint": constraint[g.place] },
    children: view.nodes
      .filter((n) => n.group === g.id)
      .map((n) => ({
        id: n.id,
        width: Math.ceil(16 + Math.max(cut(n.name).length * TEXT.name, cut(n.detail).length * TEXT.detail)),
        height: NODE_HEIGHT,
        layoutOptions: { "elk.layered.layering.layerConstraint": constraint[g.place] },
      })),
  }));
  const drawn = lines(view);
  const edges: ElkExtendedEdge[] = drawn.map((l, i) => {
    const text = linkText(l.links, l.peers);
    return {
      id: `e${i}`,
      sources: [l.source],
      targets: [l.target],
      labels: [
        {
          id: `l${i}`,
          text,
          width: Math.ceil(text.length * TEXT.edge) + 4,
          height: EDGE_LABEL_HEIGHT,
          layoutOptions: { "elk.edgeLabels.placement": "HEAD" },
        },
      ],
    };
  });
  // A CommonJS module: its exports are the constructor, which is also its own `default`.
  const root: ElkNode = { id: "root", layoutOptions: { ...ROOT_OPTIONS, ...options }, children: groups, edges };
  const out = await new elk.default().layout(root);
  const nodes: GraphLayout["nodes"] = [];
  const laidGroups: GraphLayout["groups"] = [];
  for (const g of out.children ?? []) {
    laidGroups.push({ id: g.id, label: g.labels?.[0]?.text ?? "", ...box(g) });
    for (const n of g.children ?? []) nodes.push({ id: n.id, ...box(n) });
  }
  const links = (out.edges ?? []).map((e, i): LaidLink => {
    const points = (e.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    const label = e.labels?.[0];
    const line = drawn[i] as Line;
    const ends = [...new Set(line.links.flatMap((l) => [l.source, l.target]))].sort(cmpStr);
    return {
      verdict: line.verdict,
      source: line.source,
      target: line.target,
      ends,
      links: line.links,
      points: points.map((p) => ({ x: round(p.x), y: round(p.y) })),
      label: { text: label?.text ?? "", ...box(label ?? {}) },
    };
  });
  return { width: round(out.width), height: round(out.height), groups: laidGroups, nodes, links };
}

function box(s: { x?: number; y?: number; width?: number; height?: number }): Box {
  return { x: round(s.x), y: round(s.y), width: round(s.width), height: round(s.height) };
}
