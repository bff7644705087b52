import { type HourWindow, UNKNOWN_HOUR } from "../../model/edge-hours.js";
import { literal } from "./sql.js";

/**
 * The store's rows as SQLite holds them, computed from the committed batches: each batch is
 * folded once (GROUP BY key, batch with any(): copies of a batch are identical), then batches
 * are folded together with the same rules as the SQLite upserts (counts add, first seen min,
 * last seen max, the newest non-empty label set wins). Rows come ordered by their identity,
 * bytewise, as SQLite's BINARY collation orders them.
 */
export interface Tables {
  /** The table to read (the Distributed one with a cluster). */
  table(name: string): string;
  /** `IN` with a subquery, `GLOBAL IN` across shards. */
  readonly inOp: string;
  /** False: an older store read as it is, without `edge_hours` (schema 2). */
  hourly?: boolean;
}

export function committed(t: Tables): string {
  return `batch ${t.inOp} (SELECT batch FROM ${t.table("batches")})`;
}

/** Rows of one Kubernetes cluster (`column` names it), or of all. */
function ofCluster(column: string, cluster: string | undefined): string {
  return cluster === undefined ? "1" : `${column} = ${literal(cluster)}`;
}

const EP = "cluster, type, namespace, kind, name, ip";

export function endpointsSql(t: Tables, cluster?: string): string {
  return `SELECT ${EP}, min(f) AS first, max(l) AS last, sum(n) AS flows FROM (
    SELECT ${EP}, batch, any(first_seen) AS f, any(last_seen) AS l, any(flows) AS n
    FROM ${t.table("endpoints")} WHERE ${committed(t)} AND ${ofCluster("cluster", cluster)} GROUP BY ${EP}, batch)
  GROUP BY ${EP} ORDER BY ${EP}`;
}

const EDGE = `src_cluster, src_type, src_namespace, src_kind, src_name, src_ip,
  dst_cluster, dst_type, dst_namespace, dst_kind, dst_name, dst_ip, protocol, port, verdict, system`;

/** Edges of a cluster (by their source's), in identity order. `having` filters the folded rows. */
export function edgesSql(t: Tables, cluster?: string, having = "1"): string {
  return `SELECT ${EDGE},
      sum(c) + greatest(sum(sr), sum(dr)) AS count, min(f) AS first, max(l) AS last,
      argMaxIf(reason, tuple(l, reason), reason != '') AS drop_reason,
      arraySort(groupUniqArrayArray(pol)) AS policies
    FROM (
      SELECT ${EDGE}, batch, any(count) AS c, any(src_reported) AS sr, any(dst_reported) AS dr,
        any(first_seen) AS f, any(last_seen) AS l, any(drop_reason) AS reason, any(policies) AS pol
      FROM ${t.table("edges")} WHERE ${committed(t)} AND ${ofCluster("src_cluster", cluster)} GROUP BY ${EDGE}, batch)
    GROUP BY ${EDGE} HAVING ${having} ORDER BY ${EDGE}`;
}

export function podsSql(t: Tables, cluster?: string): string {
  const labelled = "lb NOT IN ('{}', '')";
  return `SELECT cluster, namespace, name,
      argMax(tuple(ec, et, ens, ek, en, eip), tuple(l, ec, et, ens, ek, en, eip)) AS ep,
      if(countIf(${labelled}) > 0, argMaxIf(lb, tuple(l, lb), ${labelled}), if(countIf(lb = '{}') > 0, '{}', '')) AS labels,
      argMin(sa, tuple(f, sa)) AS service_account, min(f) AS first, max(l) AS last
    FROM (
      SELECT cluster, namespace, name, batch, any(ep_cluster) AS ec, any(ep_type) AS et, any(ep_namespace) AS ens,
        any(ep_kind) AS ek, any(ep_name) AS en, any(ep_ip) AS eip, any(labels) AS lb, any(service_account) AS sa,
        any(first_seen) AS f, any(last_seen) AS l
      FROM ${t.table("pods")} WHERE ${committed(t)} AND ${ofCluster("cluster", cluster)}
      GROUP BY cluster, namespace, name, batch)
    GROUP BY cluster, namespace, name ORDER BY cluster, namespace, name`;
}

export function namespacesSql(t: Tables, cluster?: string): string {
  return `SELECT cluster, name, argMaxIf(lb, tuple(l, lb), lb != '') AS labels, min(f) AS first, max(l) AS last FROM (
      SELECT cluster, name, batch, any(labels) AS lb, any(first_seen) AS f, any(last_seen) AS l
      FROM ${t.table("namespaces")} WHERE ${committed(t)} AND ${ofCluster("cluster", cluster)}
      GROUP BY cluster, name, batch)
    GROUP BY cluster, name ORDER BY cluster, name`;
}

export function dnsNamesSql(t: Tables): string {
  return `SELECT ip, name, sum(c) AS count, min(f) AS first, max(l) AS last FROM (
      SELECT ip, name, batch, any(count) AS c, any(first_seen) AS f, any(last_seen) AS l
      FROM ${t.table("dns_names")} WHERE ${committed(t)} GROUP BY ip, name, batch)
    GROUP BY ip, name ORDER BY ip, name`;
}

const SVC = "namespace, name, ep_cluster, ep_type, ep_namespace, ep_kind, ep_name, ep_ip, protocol, port";

export function servicesSql(t: Tables, cluster?: string): string {
  return `SELECT ${SVC}, sum(c) AS count, min(f) AS first, max(l) AS last FROM (
      SELECT ${SVC}, batch, any(count) AS c, any(first_seen) AS f, any(last_seen) AS l
      FROM ${t.table("services")} WHERE ${committed(t)} AND ${ofCluster("ep_cluster", cluster)} GROUP BY ${SVC}, batch)
    GROUP BY ${SVC} ORDER BY ${SVC}`;
}

/**
 * Gap rows, one per recorded gap (as SQLite's rows), in no particular order. Columns are prefixed
 * (g_): ClickHouse 18.16 takes an alias equal to a column name for that column. A lost-events
 * record with a time that was stored more than once (read again from another input, or by a
 * collector's re-read) is one row, as SQLite stores it once.
 */
export function gapsSql(t: Tables): string {
  const rows = `SELECT batch, seq, any(source_system) AS g_system, any(kind) AS g_kind, any(node) AS g_node,
      any(detail) AS g_detail, any(count) AS g_count, any(first_seen) AS g_first, any(last_seen) AS g_last
    FROM ${t.table("gaps")} WHERE ${committed(t)} GROUP BY batch, seq`;
  const columns = "g_system, g_kind, g_node, g_detail, g_count, g_first, g_last";
  const timedLost = "g_kind = 'lost_events' AND isNotNull(g_first)";
  return `SELECT ${columns} FROM (${rows}) WHERE NOT (${timedLost})
    UNION ALL SELECT DISTINCT ${columns} FROM (${rows}) WHERE ${timedLost}`;
}

const INGEST_COLUMNS = [
  "source_system",
  "kind",
  "path",
  "format",
  "head_hash",
  "status",
  "started_at",
  "finished_at",
  "finished",
];

/** The ingest log's rows: the newest version of each. */
export function ingestsSql(t: Tables, where = "1"): string {
  return `SELECT id, ${INGEST_COLUMNS.map((c) => `i_${c} AS ${c}`).join(", ")} FROM (
      SELECT id, ${INGEST_COLUMNS.map((c) => `argMax(${c}, version) AS i_${c}`).join(", ")}
      FROM ${t.table("ingests")} WHERE ${where} GROUP BY id)`;
}

/** Per ingest: the progress of its committed batches (the furthest one) and their summed counts. */
export function progressSql(t: Tables): string {
  const at = "tuple(b_end, b_lines, b_at)";
  return `SELECT b_ingest AS ingest_id, max(b_end) AS bytes_done, argMax(b_lines, ${at}) AS lines_done,
      argMax(b_hash, ${at}) AS content_hash, sum(b_flows) AS flows, sum(b_replies) AS replies,
      sum(b_skipped) AS skipped, sum(b_bad) AS bad, sum(b_lost) AS lost
    FROM (
      SELECT batch, any(ingest_id) AS b_ingest, any(end_offset) AS b_end, any(lines_done) AS b_lines,
        any(content_hash) AS b_hash, any(committed_at) AS b_at, any(flows) AS b_flows, any(replies) AS b_replies,
        any(skipped) AS b_skipped, any(bad) AS b_bad, any(lost) AS b_lost
      FROM ${t.table("batches")} GROUP BY batch)
    GROUP BY b_ingest`;
}

/**
 * Per edge, its flows in the whole hours of a window (model/edge-hours.ts): each hour folded as
 * `edgesSql` folds edges, then the hours inside the window summed. An unknown hour counts when its
 * span meets the window; `uncertain` is its flows that may lie outside.
 */
export function edgeHoursSql(t: Tables, cluster: string | undefined, w: HourWindow): string {
  const [from, to, since, until, unknown] = [w.fromHour, w.toHour, w.since, w.until, UNKNOWN_HOUR].map(literal);
  return `SELECT ${EDGE}, sum(hc) AS count, min(hf) AS first, max(hl) AS last,
      sumIf(hc, hour = ${unknown} AND (hf < ${since} OR hl > ${until})) AS uncertain
    FROM (
      SELECT ${EDGE}, hour, sum(c) + greatest(sum(sr), sum(dr)) AS hc, min(f) AS hf, max(l) AS hl
      FROM (
        SELECT ${EDGE}, hour, batch, any(count) AS c, any(src_reported) AS sr, any(dst_reported) AS dr,
          any(first_seen) AS f, any(last_seen) AS l
        FROM ${t.table("edge_hours")} WHERE ${committed(t)} AND ${ofCluster("src_cluster", cluster)}
        GROUP BY ${EDGE}, hour, batch)
      GROUP BY ${EDGE}, hour)
    WHERE (hour >= ${from} AND hour <= ${to} AND hour != ${unknown})
      OR (hour = ${unknown} AND hl >= ${since} AND hf <= ${until})
    GROUP BY ${EDGE} HAVING count > 0`;
}
