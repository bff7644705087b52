import { type Observed, type ObservedEdge, type ObservedPeer, peerOf, workloadLabelSets } from "../diff/observed.js";
import { windowOf } from "../model/edge-hours.js";
import { ALLOWED_VERDICTS } from "../model/flow.js";
import type { Db } from "./db.js";
import type { ObservedWindow } from "./store.js";
import { edgesOfWindow, uncertainFlows } from "./window-edges.js";

/**
 * The observed traffic `flowpol diff` judges, of one cluster, straight from the store: edges that reached their
 * target, summed over verdicts and sources by SQLite (GROUP BY), as rows rather than objects so
 * that 100,000 edges cost little memory. Workloads carry the distinct label sets of their pods
 * (`workloadLabelSets`). A window counts the flows of its whole hours, as the graph does (window-edges.ts).
 */
export function readObserved(db: Db, window: ObservedWindow, cluster: string): Observed {
  const allowed = JSON.stringify([...ALLOWED_VERDICTS]);
  const hours = windowOf(window);
  const since = hours?.since ?? Number.MIN_SAFE_INTEGER;
  const until = hours?.until ?? Number.MAX_SAFE_INTEGER;
  const edgesTable = hours ? edgesOfWindow(db, hours) : "edges";
  const podSets = new Map<number, Array<Record<string, string>>>();
  const podRows = db
    .prepare("SELECT DISTINCT endpoint_id, labels FROM pods WHERE cluster = ?")
    .raw()
    .all(cluster) as Array<[number, string]>;
  for (const [id, json] of podRows) {
    const list = podSets.get(id);
    if (list) list.push(parseLabels(json));
    else podSets.set(id, [parseLabels(json)]);
  }
  const labels = new Map([...podSets].map(([id, sets]) => [id, workloadLabelSets(sets)]));

  const dnsNames = new Map<string, string[]>();
  for (const [ip, name] of db.prepare("SELECT ip, name FROM dns_names ORDER BY ip, name").raw().all() as Array<
    [string, string]
  >) {
    const names = dnsNames.get(ip) ?? [];
    names.push(name);
    dnsNames.set(ip, names);
  }
  const peers = new Map<number, ObservedPeer>();
  const endpointRows = db
    .prepare("SELECT id, type, namespace, kind, name, ip FROM endpoints WHERE cluster = ?")
    .raw()
    .all(cluster) as Array<[number, "workload" | "entity" | "external" | "unknown", string, string, string, string]>;
  for (const [id, type, namespace, kind, name, ip] of endpointRows) {
    const peer = peerOf({ type, namespace, kind, name, ip }, labels.get(id));
    const names = peer.kind === "ip" ? dnsNames.get(peer.ip) : undefined;
    if (peer.kind === "ip" && names) peer.dnsNames = names;
    peers.set(id, peer);
  }

  const edges: ObservedEdge[] = [];
  const edgeRows = db
    .prepare(
      `SELECT src_id, dst_id, protocol, port, SUM(count) FROM ${edgesTable}
       WHERE verdict IN (SELECT value FROM json_each(?)) AND last_seen >= ? AND first_seen <= ?
         AND src_id IN (SELECT id FROM endpoints WHERE cluster = ?)
       GROUP BY src_id, dst_id, protocol, port`,
    )
    .raw()
    .all(allowed, since, until, cluster) as Array<[number, number, string, number, number]>;
  for (const [srcId, dstId, protocol, port, flows] of edgeRows) {
    const src = peers.get(srcId);
    const dst = peers.get(dstId);
    if (src && dst) edges.push({ src, dst, protocol, port, flows });
  }
  const dropped = db
    .prepare(
      `SELECT COUNT(*) FROM (SELECT 1 FROM ${edgesTable} WHERE verdict NOT IN (SELECT value FROM json_each(?))
       AND last_seen >= ? AND first_seen <= ? AND src_id IN (SELECT id FROM endpoints WHERE cluster = ?)
       GROUP BY src_id, dst_id, protocol, port)`,
    )
    .pluck()
    .get(allowed, since, until, cluster) as number;
  const namespaces = (
    db.prepare("SELECT name, labels FROM namespaces WHERE cluster = ? ORDER BY name").raw().all(cluster) as Array<
      [string, string]
    >
  ).map(([name, json]) => ({ name, labels: parseLabels(json) }));
  const workloads = [...peers.values()].filter(
    (p): p is Extract<ObservedPeer, { kind: "workload" }> => p.kind === "workload",
  );
  const observed: Observed = { edges, namespaces, workloads, droppedEdges: dropped };
  if (hours) observed.window = { since, until, uncertain: uncertainFlows(db, hours, cluster) };
  return observed;
}

function parseLabels(json: string): Record<string, string> {
  if (!json) return {};
  const parsed = JSON.parse(json) as unknown;
  return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
}
