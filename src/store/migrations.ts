/**
 * The store's schema, as an ordered list of migrations. `PRAGMA user_version` records how many
 * have been applied. Append only: never edit a migration that has shipped.
 *
 * Times are milliseconds since the Unix epoch. An hour is `floor(time / 3600000)`; hour -1 in
 * `edge_hours` holds flows of an unknown hour within its first..last span (model/edge-hours.ts). Label sets are JSON objects with sorted keys.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
  /**
   * Rebuilds tables other tables reference (SQLite cannot change a key in place): applied with
   * foreign keys off, then checked (https://sqlite.org/lang_altertable.html#otheralter).
   */
  rebuildsTables?: boolean;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "endpoints, pods, namespaces, edges, DNS names, services, gaps, ingest log",
    sql: `
CREATE TABLE endpoints (
  id INTEGER PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('workload', 'entity', 'external', 'unknown')),
  namespace TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  ip TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  flows INTEGER NOT NULL DEFAULT 0,
  UNIQUE (type, namespace, kind, name, ip)
);
CREATE TABLE namespaces (
  name TEXT PRIMARY KEY,
  labels TEXT NOT NULL DEFAULT '{}',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE TABLE pods (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
  labels TEXT NOT NULL DEFAULT '{}',
  service_account TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE INDEX pods_by_endpoint ON pods(endpoint_id);
CREATE TABLE edges (
  id INTEGER PRIMARY KEY,
  src_id INTEGER NOT NULL REFERENCES endpoints(id),
  dst_id INTEGER NOT NULL REFERENCES endpoints(id),
  protocol TEXT NOT NULL,
  port INTEGER NOT NULL,
  verdict TEXT NOT NULL,
  source_system TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  drop_reason TEXT NOT NULL DEFAULT '',
  UNIQUE (src_id, dst_id, protocol, port, verdict, source_system)
);
CREATE INDEX edges_by_dst ON edges(dst_id);
CREATE TABLE edge_policies (
  edge_id INTEGER NOT NULL REFERENCES edges(id),
  policy TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (edge_id, policy)
);
CREATE TABLE dns_names (
  ip TEXT NOT NULL,
  name TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (ip, name)
);
CREATE TABLE services (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
  protocol TEXT NOT NULL,
  port INTEGER NOT NULL,
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (namespace, name, endpoint_id, protocol, port)
);
CREATE TABLE ingests (
  id INTEGER PRIMARY KEY,
  source_system TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('file', 'stdin', 'grpc')),
  path TEXT NOT NULL,
  format TEXT NOT NULL,
  head_hash TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL DEFAULT '',
  bytes_done INTEGER NOT NULL DEFAULT 0,
  lines_done INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
  flows INTEGER NOT NULL DEFAULT 0,
  replies INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  bad INTEGER NOT NULL DEFAULT 0,
  lost INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX ingests_by_head ON ingests(head_hash);
CREATE TABLE bad_lines (
  ingest_id INTEGER NOT NULL REFERENCES ingests(id),
  line INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (ingest_id, line)
);
CREATE TABLE gaps (
  id INTEGER PRIMARY KEY,
  source_system TEXT NOT NULL,
  kind TEXT NOT NULL,
  node TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  count INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER,
  last_seen INTEGER,
  ingest_id INTEGER REFERENCES ingests(id)
);
`,
  },
  {
    version: 2,
    description: "resume cursors of streaming collectors (Hubble gRPC)",
    sql: `
CREATE TABLE collect_cursors (
  source TEXT PRIMARY KEY,
  seconds INTEGER NOT NULL,
  nanos INTEGER NOT NULL,
  keys TEXT NOT NULL DEFAULT '[]',
  ingest_id INTEGER REFERENCES ingests(id),
  updated_at INTEGER NOT NULL
);
`,
  },
  {
    version: 3,
    description: "edges: connections reported by each end (Calico reporter src/dst), so both ends count once",
    sql: `
ALTER TABLE edges ADD COLUMN src_reported INTEGER NOT NULL DEFAULT 0;
ALTER TABLE edges ADD COLUMN dst_reported INTEGER NOT NULL DEFAULT 0;
`,
  },
  {
    version: 4,
    description: "leases: which run owns an input or a collector cursor, so concurrent runs never count it twice",
    sql: `
CREATE TABLE leases (
  key TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  token TEXT NOT NULL,
  ingest_id INTEGER,
  acquired_at INTEGER NOT NULL,
  renewed_at INTEGER NOT NULL
);
`,
  },
  {
    version: 5,
    description: "clusters: endpoints, namespaces and pods belong to a Kubernetes cluster; existing rows to 'default'",
    rebuildsTables: true,
    sql: `
CREATE TABLE endpoints_v5 (
  id INTEGER PRIMARY KEY,
  cluster TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('workload', 'entity', 'external', 'unknown')),
  namespace TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  ip TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  flows INTEGER NOT NULL DEFAULT 0,
  UNIQUE (cluster, type, namespace, kind, name, ip)
);
INSERT INTO endpoints_v5 (id, cluster, type, namespace, kind, name, ip, first_seen, last_seen, flows)
  SELECT id, 'default', type, namespace, kind, name, ip, first_seen, last_seen, flows FROM endpoints;
DROP TABLE endpoints;
ALTER TABLE endpoints_v5 RENAME TO endpoints;
CREATE TABLE namespaces_v5 (
  cluster TEXT NOT NULL,
  name TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (cluster, name)
);
INSERT INTO namespaces_v5 SELECT 'default', name, labels, first_seen, last_seen FROM namespaces;
DROP TABLE namespaces;
ALTER TABLE namespaces_v5 RENAME TO namespaces;
CREATE TABLE pods_v5 (
  cluster TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
  labels TEXT NOT NULL DEFAULT '{}',
  service_account TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (cluster, namespace, name)
);
INSERT INTO pods_v5 SELECT 'default', namespace, name, endpoint_id, labels, service_account, first_seen, last_seen FROM pods;
DROP TABLE pods;
ALTER TABLE pods_v5 RENAME TO pods;
CREATE INDEX pods_by_endpoint ON pods(endpoint_id);
CREATE INDEX endpoints_by_cluster ON endpoints(cluster);
`,
  },
  {
    version: 6,
    description: "flow uuids stored recently, in blocks, so a flow read again from another input counts once",
    sql: `
CREATE TABLE flow_uuid_blocks (
  id INTEGER PRIMARY KEY,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  ingest_id INTEGER REFERENCES ingests(id),
  keys TEXT NOT NULL
);
CREATE INDEX flow_uuid_blocks_by_last ON flow_uuid_blocks(last);
ALTER TABLE ingests ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
`,
  },
  {
    version: 7,
    description:
      "edge counts by hour, so a time window counts its own flows; earlier counts kept as of an unknown hour",
    sql: `
CREATE TABLE edge_hours (
  edge_id INTEGER NOT NULL REFERENCES edges(id),
  hour INTEGER NOT NULL,
  count INTEGER NOT NULL,
  src_reported INTEGER NOT NULL DEFAULT 0,
  dst_reported INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (edge_id, hour)
) WITHOUT ROWID;
CREATE INDEX edge_hours_by_hour ON edge_hours(hour);
INSERT INTO edge_hours (edge_id, hour, count, src_reported, dst_reported, first_seen, last_seen)
  SELECT id, -1, count, src_reported, dst_reported, first_seen, last_seen FROM edges;
`,
  },
  {
    version: 8,
    description:
      "a lost-events record read again (another input, a collector's re-read) is stored once: the ones stored twice go",
    sql: `
DELETE FROM gaps WHERE kind = 'lost_events' AND first_seen IS NOT NULL AND id NOT IN (
  SELECT min(id) FROM gaps WHERE kind = 'lost_events' AND first_seen IS NOT NULL
  GROUP BY source_system, node, detail, count, first_seen);
CREATE INDEX IF NOT EXISTS gaps_lost_events ON gaps(first_seen, node) WHERE kind = 'lost_events';
`,
  },
];
