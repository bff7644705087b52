import { type HourWindow, isoWindow, windowOf } from "../model/edge-hours.js";
import type { Db } from "./db.js";
import type { ObservedWindow } from "./store.js";
import { edgesOfWindow } from "./window-edges.js";

/** What `flowpol stats` reports. Keys are a contract: scripts and CI read them. */
export interface StoreStats {
  /** With a window: the flows of the edges in it (replies are not kept by hour). */
  flows: number;
  /** Null with a window: replies are counted per input, not per hour. */
  replies: number | null;
  edges: number;
  allowedEdges: number;
  deniedEdges: number;
  workloads: number;
  namespaces: number;
  externalPeers: number;
  lostEvents: number;
  gaps: number;
  /** Nodes a collector reported unavailable (Relay could not reach them): their flows are missing. */
  unavailableNodes: string[];
  skippedLines: number;
  badLines: number;
  ingests: number;
  sources: string[];
  /** The clusters the store holds (all of them, also when stats are of one). */
  clusters: string[];
  since: string | null;
  until: string | null;
  /** Only with --since/--until: the whole hours counted (model/edge-hours.ts). */
  window?: ReturnType<typeof isoWindow>;
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * The store's figures. With a cluster, the graph's figures (edges, workloads, namespaces, peers,
 * window) are that cluster's; the ingest log's (flows, lines, losses, gaps) are the store's.
 */
export function storeStats(db: Db, cluster?: string, window: ObservedWindow = {}): StoreStats {
  const hours = windowOf(window);
  const all = storeTotals(db, cluster);
  return hours ? { ...all, ...windowStats(db, hours, cluster) } : all;
}

/**
 * The graph's figures of a window: edges with flows in its hours, their flows, the endpoints and
 * namespaces they name, and when their first and last flows there were.
 */
function windowStats(db: Db, hours: HourWindow, cluster: string | undefined): Partial<StoreStats> {
  const params = cluster === undefined ? {} : { cluster };
  const edges = `SELECT * FROM ${edgesOfWindow(db, hours)}${
    cluster === undefined ? "" : " WHERE src_id IN (SELECT id FROM endpoints WHERE cluster = @cluster)"
  }`;
  const e = db
    .prepare(
      `SELECT count(*) AS edges, coalesce(sum(count), 0) AS flows,
              coalesce(sum(verdict IN ('forwarded', 'audit', 'redirected')), 0) AS allowed,
              coalesce(sum(verdict = 'dropped'), 0) AS denied, coalesce(sum(uncertain), 0) AS uncertain,
              min(first_seen) AS since, max(last_seen) AS until
       FROM (${edges})`,
    )
    .get(params) as {
    edges: number;
    flows: number;
    allowed: number;
    denied: number;
    uncertain: number;
    since: number | null;
    until: number | null;
  };
  const ends = db
    .prepare(
      `SELECT coalesce(sum(type = 'workload'), 0) AS workloads, coalesce(sum(type = 'external'), 0) AS externals,
              count(DISTINCT CASE WHEN type = 'workload' THEN namespace END) AS namespaces
       FROM endpoints WHERE id IN (SELECT src_id FROM (${edges}) UNION SELECT dst_id FROM (${edges}))`,
    )
    .get(params) as { workloads: number; externals: number; namespaces: number };
  return {
    flows: e.flows,
    replies: null,
    edges: e.edges,
    allowedEdges: e.allowed,
    deniedEdges: e.denied,
    workloads: ends.workloads,
    namespaces: ends.namespaces,
    externalPeers: ends.externals,
    since: iso(e.since),
    until: iso(e.until),
    window: isoWindow({ since: hours.since, until: hours.until, uncertain: e.uncertain }),
  };
}

function storeTotals(db: Db, cluster?: string): StoreStats {
  const params = cluster === undefined ? {} : { cluster };
  const ofCluster = cluster === undefined ? "" : " AND cluster = @cluster";
  const edgesOfCluster =
    cluster === undefined ? "" : " WHERE src_id IN (SELECT id FROM endpoints WHERE cluster = @cluster)";
  const totals = db
    .prepare(
      `SELECT coalesce(sum(flows), 0) AS flows, coalesce(sum(replies), 0) AS replies,
              coalesce(sum(skipped), 0) AS skipped, coalesce(sum(bad), 0) AS bad, count(*) AS ingests
       FROM ingests WHERE status != 'running' OR kind IN ('file', 'grpc')`,
    )
    .get() as { flows: number; replies: number; skipped: number; bad: number; ingests: number };
  const edges = db
    .prepare(
      `SELECT count(*) AS edges,
              coalesce(sum(verdict IN ('forwarded', 'audit', 'redirected')), 0) AS allowed,
              coalesce(sum(verdict = 'dropped'), 0) AS denied
       FROM edges${edgesOfCluster}`,
    )
    .get(params) as { edges: number; allowed: number; denied: number };
  const count = (sql: string) => (db.prepare(sql).get(params) as { n: number }).n;
  const window = db
    .prepare(`SELECT min(first_seen) AS since, max(last_seen) AS until FROM endpoints WHERE 1${ofCluster}`)
    .get(params) as {
    since: number | null;
    until: number | null;
  };
  const gaps = db
    .prepare(
      "SELECT coalesce(sum(CASE WHEN kind = 'lost_events' THEN count ELSE 0 END), 0) AS lost, count(*) AS gaps FROM gaps",
    )
    .get() as { lost: number; gaps: number };
  const unavailableNodes = (
    db
      .prepare("SELECT DISTINCT node FROM gaps WHERE kind = 'node_unavailable' AND node != '' ORDER BY node")
      .all() as Array<{ node: string }>
  ).map((r) => r.node);
  const sources = (
    db.prepare("SELECT DISTINCT source_system AS s FROM ingests ORDER BY 1").all() as Array<{ s: string }>
  ).map((r) => r.s);
  return {
    flows: totals.flows,
    replies: totals.replies,
    edges: edges.edges,
    allowedEdges: edges.allowed,
    deniedEdges: edges.denied,
    workloads: count(`SELECT count(*) AS n FROM endpoints WHERE type = 'workload'${ofCluster}`),
    namespaces: count(`SELECT count(*) AS n FROM namespaces WHERE 1${ofCluster}`),
    externalPeers: count(`SELECT count(*) AS n FROM endpoints WHERE type = 'external'${ofCluster}`),
    lostEvents: gaps.lost,
    gaps: gaps.gaps,
    unavailableNodes,
    skippedLines: totals.skipped,
    badLines: totals.bad,
    ingests: totals.ingests,
    sources,
    clusters: storeClusters(db),
    since: iso(window.since),
    until: iso(window.until),
  };
}

/** The clusters with endpoints, sorted. */
export function storeClusters(db: Db): string[] {
  return (
    db.prepare("SELECT DISTINCT cluster FROM endpoints ORDER BY cluster").all() as Array<{ cluster: string }>
  ).map((r) => r.cluster);
}
