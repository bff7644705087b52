import { openStore } from "../../src/store/db.js";

export interface EdgeRow {
  src: string;
  dst: string;
  protocol: string;
  port: number;
  verdict: string;
  count: number;
}

function endpointLabel(type: string, namespace: string, kind: string, name: string, ip: string): string {
  if (type === "workload") return `${namespace}/${kind}/${name}`;
  if (type === "entity") return `${name}:${ip}`;
  const named = kind ? `${kind}/${name}` : "";
  return `${type}:${namespace}${namespace ? "/" : ""}${named}${ip}`;
}

/** Every edge in a store as readable rows, sorted: for comparing stores in tests. */
export function readEdges(dbPath: string): EdgeRow[] {
  const db = openStore(dbPath, { mustExist: true, readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT s.type st, s.namespace sn, s.kind sk, s.name sname, s.ip sip,
                d.type dt, d.namespace dn, d.kind dk, d.name dname, d.ip dip,
                e.protocol, e.port, e.verdict, e.count
         FROM edges e JOIN endpoints s ON s.id = e.src_id JOIN endpoints d ON d.id = e.dst_id`,
      )
      .all() as Array<{
      st: string;
      sn: string;
      sk: string;
      sname: string;
      sip: string;
      dt: string;
      dn: string;
      dk: string;
      dname: string;
      dip: string;
      protocol: string;
      port: number;
      verdict: string;
      count: number;
    }>;
    return rows
      .map((r) => ({
        src: endpointLabel(r.st, r.sn, r.sk, r.sname, r.sip),
        dst: endpointLabel(r.dt, r.dn, r.dk, r.dname, r.dip),
        protocol: r.protocol,
        port: r.port,
        verdict: r.verdict,
        count: r.count,
      }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  } finally {
    db.close();
  }
}

export function readTable(dbPath: string, sql: string): unknown[] {
  const db = openStore(dbPath, { mustExist: true, readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}
