/**
 * The ClickHouse store's tables. Every data row carries the `batch` that wrote it, and a batch
 * counts only once its row is in `batches` (the commit). Reads keep the committed batches and
 * fold each batch once (GROUP BY key, batch with any()), then across batches: a retried insert,
 * or a batch written again after a kill, counts once; a batch whose run died before its commit
 * counts not at all. ReplacingMergeTree ordered by (key, batch) lets merges drop the copies.
 *
 * Times are Int64 milliseconds since the epoch (as in SQLite), never DateTime.
 *
 * With a cluster, each table is `NAME_local` on every shard and `NAME` is a Distributed table over
 * them, sharded by a hash of the row's identity: one edge (endpoint, pod...) lives on one shard.
 */
export interface TableSpec {
  name: string;
  columns: string;
  /** ORDER BY of the local table. */
  order: string;
  /** The sharding expression of the Distributed table. */
  shard: string;
  /** ReplacingMergeTree's version column, if any. */
  version?: string;
}

/** An endpoint's identity: its Kubernetes cluster, then SQLite's (type, namespace, kind, name, ip). */
const EP = (p: string) =>
  `${p}cluster String, ${p}type String, ${p}namespace String, ${p}kind String, ${p}name String, ${p}ip String`;
const EP_KEY = (p: string) => `${p}cluster, ${p}type, ${p}namespace, ${p}kind, ${p}name, ${p}ip`;

export const EDGE_KEY = `${EP_KEY("src_")}, ${EP_KEY("dst_")}, protocol, port, verdict, system`;

export const TABLES: readonly TableSpec[] = [
  {
    name: "endpoints",
    columns: `batch String, ${EP("")}, first_seen Int64, last_seen Int64, flows Int64`,
    order: `${EP_KEY("")}, batch`,
    shard: `cityHash64(${EP_KEY("")})`,
  },
  {
    name: "namespaces",
    columns: "batch String, cluster String, name String, labels String, first_seen Int64, last_seen Int64",
    order: "cluster, name, batch",
    shard: "cityHash64(cluster, name)",
  },
  {
    name: "pods",
    columns: `batch String, cluster String, namespace String, name String, ${EP("ep_")}, labels String, service_account String, first_seen Int64, last_seen Int64`,
    order: "cluster, namespace, name, batch",
    shard: "cityHash64(cluster, namespace, name)",
  },
  {
    name: "edges",
    columns: `batch String, ${EP("src_")}, ${EP("dst_")}, protocol String, port Int32, verdict String, system String,
      count Int64, src_reported Int64, dst_reported Int64, first_seen Int64, last_seen Int64, drop_reason String,
      policies Array(String), policy_counts Array(Int64)`,
    order: `${EDGE_KEY}, batch`,
    shard: `cityHash64(${EDGE_KEY})`,
  },
  {
    // An edge's counts by hour (model/edge-hours.ts), counted as `edges` counts them; hour -1: unknown.
    name: "edge_hours",
    columns: `batch String, ${EP("src_")}, ${EP("dst_")}, protocol String, port Int32, verdict String, system String,
      hour Int64, count Int64, src_reported Int64, dst_reported Int64, first_seen Int64, last_seen Int64`,
    order: `${EDGE_KEY}, hour, batch`,
    shard: `cityHash64(${EDGE_KEY})`,
  },
  {
    name: "dns_names",
    columns: "batch String, ip String, name String, count Int64, first_seen Int64, last_seen Int64",
    order: "ip, name, batch",
    shard: "cityHash64(ip, name)",
  },
  {
    name: "services",
    columns: `batch String, namespace String, name String, ${EP("ep_")}, protocol String, port Int32, count Int64, first_seen Int64, last_seen Int64`,
    order: `namespace, name, ${EP_KEY("ep_")}, protocol, port, batch`,
    shard: "cityHash64(namespace, name)",
  },
  {
    name: "gaps",
    columns: `batch String, seq UInt32, source_system String, kind String, node String, detail String, count Int64,
      first_seen Nullable(Int64), last_seen Nullable(Int64), ingest_id Int64`,
    order: "batch, seq",
    shard: "cityHash64(batch)",
  },
  {
    name: "bad_lines",
    columns: "batch String, ingest_id Int64, line Int64, reason String",
    order: "ingest_id, line, batch",
    shard: "cityHash64(ingest_id)",
  },
  {
    name: "batches",
    columns: `batch String, ingest_id Int64, end_offset Int64, lines_done Int64, content_hash String,
      flows Int64, replies Int64, skipped Int64, bad Int64, lost Int64,
      cursor_source String, cursor_seconds Int64, cursor_nanos Int64, cursor_keys String, committed_at Int64,
      whole String`,
    order: "batch",
    // By ingest: the commit rows of one whole input go to one shard in one block, atomically.
    shard: "cityHash64(ingest_id)",
  },
  {
    name: "ingests",
    columns: `id Int64, source_system String, kind String, path String, format String, head_hash String,
      status String, started_at Int64, finished_at Int64, finished UInt8, version Int64`,
    order: "id",
    shard: "cityHash64(id)",
    version: "version",
  },
  {
    name: "leases",
    columns: `key String, token String, host String, pid Int64, ingest_id Int64, acquired_at Int64,
      renewed_at Int64, released UInt8, version Int64`,
    order: "key, token",
    shard: "cityHash64(key)",
    version: "version",
  },
];

/**
 * The schema's version, recorded per server in `flowpol_schema` (a local table, never distributed).
 * 1: the tables; 2: `edge_hours`, into which a version-1 store's edge rows are copied as of an
 * unknown hour (`upgradeStatements`).
 */
export const SCHEMA_VERSION = 2;

/** What a server at schema `from` runs, after `createStatements`, to reach SCHEMA_VERSION. */
export function upgradeStatements(database: string, cluster: string | undefined, from: number): string[] {
  if (from >= 2) return [];
  const db = `\`${database}\``;
  const edges = cluster ? "edges_local" : "edges";
  const hours = cluster ? "edge_hours_local" : "edge_hours";
  // Each batch's rows copied with the same batch id: reads fold a batch once, so a copy made twice counts once.
  return [
    `INSERT INTO ${db}.\`${hours}\` SELECT batch, ${EDGE_KEY}, -1, count, src_reported, dst_reported, first_seen, last_seen FROM ${db}.\`${edges}\``,
  ];
}

export function localName(spec: TableSpec, cluster: string | undefined): string {
  return cluster ? `${spec.name}_local` : spec.name;
}

/** The statements that create the schema on one server (idempotent: IF NOT EXISTS). */
export function createStatements(database: string, cluster: string | undefined): string[] {
  const db = `\`${database}\``;
  const out = [`CREATE DATABASE IF NOT EXISTS ${db}`];
  out.push(
    `CREATE TABLE IF NOT EXISTS ${db}.flowpol_schema (version UInt32, description String, applied_at Int64) ENGINE = MergeTree ORDER BY version`,
  );
  for (const t of TABLES) {
    const local = localName(t, cluster);
    out.push(
      `CREATE TABLE IF NOT EXISTS ${db}.\`${local}\` (${t.columns}) ENGINE = ReplacingMergeTree(${t.version ?? ""}) ORDER BY (${t.order})`,
    );
    if (cluster) {
      out.push(
        `CREATE TABLE IF NOT EXISTS ${db}.\`${t.name}\` AS ${db}.\`${local}\` ENGINE = Distributed(\`${cluster}\`, ${db}, \`${local}\`, ${t.shard})`,
      );
    }
  }
  return out;
}
