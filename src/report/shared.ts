import type { DependencyGraph, GraphNode, SharedRole } from "../graph/index.js";

/**
 * The shared services the report lists: the graph's (`src/graph`, catalog and detected), the same
 * ones generate writes its namespace-wide exceptions for, with the peers and flows observed. Pure.
 */
export interface SharedServiceRow {
  name: string;
  role: SharedRole;
  origin: "catalog" | "detected";
  description: string;
  /** The workloads (or peers) that are the service, or the shared caller. */
  members: string[];
  /** Ports the exception opens (the catalog's), else the observed ones. */
  ports: string[];
  /** Who calls it (for a caller: whom it calls). */
  peers: string[];
  flows: number;
}

function label(n: GraphNode | undefined, id: string): string {
  if (!n) return id;
  if (n.type === "workload") return `${n.namespace}/${n.name}`;
  if (n.type === "entity") return n.entity;
  return n.ip;
}

/** Those with observed traffic (a catalog entry can match a peer that never used its role). */
export function sharedServiceRows(graph: DependencyGraph): SharedServiceRow[] {
  const rows = graph.shared.map((s) => {
    const members = new Set(s.nodes);
    const outward = s.role === "caller";
    const edges = graph.allowed.filter((e) => members.has(outward ? e.from : e.to));
    const observedPorts = new Set(edges.map((e) => (e.port > 0 ? `${e.port}/${e.protocol}` : e.protocol)));
    const ports = s.ports.length > 0 ? s.ports.map((p) => `${p.port}/${p.protocol}`) : [...observedPorts];
    const peers = new Set(
      edges.map((e) => {
        const id = outward ? e.to : e.from;
        return label(graph.nodes.get(id), id);
      }),
    );
    return {
      name: s.name,
      role: s.role,
      origin: s.origin,
      description: s.description,
      members: s.nodes.map((id) => label(graph.nodes.get(id), id)).sort(),
      ports: ports.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || (a < b ? -1 : 1)),
      peers: [...peers].sort(),
      flows: edges.reduce((n, e) => n + e.count, 0),
    };
  });
  return rows.filter((r) => r.flows > 0);
}

export const SHARED_HEADERS = ["shared service", "role", "is", "ports", "peers", "flows"];
export const NO_SHARED =
  "None: no catalog entry (templates/shared-services.yaml, --catalog) matched, and no in-cluster destination was called on one port from 3 or more namespaces.";

const ROLE_TEXT: Record<SharedRole, string> = {
  dns: "cluster DNS, called by",
  "api-server": "API server, called by",
  callee: "called by",
  caller: "calls",
};

export function sharedRows(rows: readonly SharedServiceRow[]): Array<Array<string | number>> {
  return rows.map((r) => [
    `${r.name} (${r.origin})`,
    ROLE_TEXT[r.role],
    r.members.join(", "),
    r.ports.join(", "),
    r.peers.join(", "),
    r.flows,
  ]);
}
