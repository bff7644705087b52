import { Database } from "../../src/store/sqlite.js";

/**
 * The store's content as sorted text rows, without ids and ingest bookkeeping: two stores built
 * from the same flows by different paths (file ingest, gRPC collection) must give the same rows.
 */
export function storeContent(path: string): Record<string, string[]> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = (sql: string) => (db.prepare(sql).raw().all() as unknown[][]).map((r) => JSON.stringify(r)).sort();
    return {
      endpoints: rows("SELECT type, namespace, kind, name, ip, first_seen, last_seen, flows FROM endpoints"),
      edges: rows(`SELECT s.type, s.namespace, s.kind, s.name, s.ip, d.type, d.namespace, d.kind, d.name, d.ip,
                     e.protocol, e.port, e.verdict, e.source_system, e.count, e.first_seen, e.last_seen, e.drop_reason
                   FROM edges e JOIN endpoints s ON s.id = e.src_id JOIN endpoints d ON d.id = e.dst_id`),
      edgeHours: rows(`SELECT s.type, s.namespace, s.kind, s.name, s.ip, d.type, d.namespace, d.kind, d.name, d.ip,
                         e.protocol, e.port, e.verdict, e.source_system, h.hour, h.count, h.first_seen, h.last_seen
                       FROM edge_hours h JOIN edges e ON e.id = h.edge_id
                         JOIN endpoints s ON s.id = e.src_id JOIN endpoints d ON d.id = e.dst_id`),
      pods: rows("SELECT namespace, name, labels, service_account, first_seen, last_seen FROM pods"),
      namespaces: rows("SELECT name, labels, first_seen, last_seen FROM namespaces"),
      dnsNames: rows("SELECT ip, name, count, first_seen, last_seen FROM dns_names"),
      services: rows("SELECT namespace, name, protocol, port, count, first_seen, last_seen FROM services"),
    };
  } finally {
    db.close();
  }
}
