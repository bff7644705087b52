import { type HourWindow, UNKNOWN_HOUR } from "../model/edge-hours.js";
import { type Db, schemaVersion } from "./db.js";

/** The migration that added `edge_hours` (migrations.ts). */
const HOURLY_SCHEMA = 7;

/**
 * The `edges` table as of a window of whole hours (model/edge-hours.ts): the same columns, with
 * each edge's count, first and last seen summed from its hours inside the window, and only the
 * edges with flows there. An unknown hour (flows stored before migration 7) counts when its span
 * meets the window; `uncertain` says how many of its flows may lie outside. A store opened
 * read-only before migration 7 has no hours: all its flows are of an unknown hour.
 */
export function edgesOfWindow(db: Db, w: HourWindow): string {
  const [from, to, since, until] = [w.fromHour, w.toHour, w.since, w.until].map(integer);
  const unknown = integer(UNKNOWN_HOUR);
  if (schemaVersion(db) < HOURLY_SCHEMA) {
    // Read without migrating (a read-only open of an older store): every flow is of an unknown hour.
    return `(SELECT id, src_id, dst_id, protocol, port, verdict, source_system, count,
        max(first_seen, ${since}) AS first_seen, min(last_seen, ${until}) AS last_seen, drop_reason,
        src_reported, dst_reported,
        CASE WHEN first_seen < ${since} OR last_seen > ${until} THEN count ELSE 0 END AS uncertain
      FROM edges WHERE last_seen >= ${since} AND first_seen <= ${until} AND count > 0)`;
  }
  return `(SELECT e.id, e.src_id, e.dst_id, e.protocol, e.port, e.verdict, e.source_system, h.count,
      max(h.first, ${since}) AS first_seen, min(h.last, ${until}) AS last_seen, e.drop_reason,
      e.src_reported, e.dst_reported, h.uncertain
    FROM edges e JOIN (
      SELECT edge_id, sum(count) AS count, min(first_seen) AS first, max(last_seen) AS last,
        sum(CASE WHEN hour = ${unknown} AND (first_seen < ${since} OR last_seen > ${until}) THEN count ELSE 0 END) AS uncertain
      FROM edge_hours
      WHERE (hour BETWEEN ${from} AND ${to} AND hour != ${unknown})
        OR (hour = ${unknown} AND last_seen >= ${since} AND first_seen <= ${until})
      GROUP BY edge_id HAVING sum(count) > 0) h ON h.edge_id = e.id)`;
}

/** Flows of a cluster's edges counted in the window whose hour is unknown and may lie outside it. */
export function uncertainFlows(db: Db, w: HourWindow, cluster: string | undefined): number {
  const ofCluster = cluster === undefined ? "" : " WHERE src_id IN (SELECT id FROM endpoints WHERE cluster = ?)";
  const args = cluster === undefined ? [] : [cluster];
  return db
    .prepare(`SELECT coalesce(sum(uncertain), 0) FROM ${edgesOfWindow(db, w)}${ofCluster}`)
    .pluck()
    .get(...args) as number;
}

/** Numbers computed by flowpol, never input text, written into SQL. */
function integer(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}
