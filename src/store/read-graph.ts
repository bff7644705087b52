import { type GraphInput, inScope, type Scope, scopedEndpoints } from "../graph/input.js";
import { windowOf } from "../model/edge-hours.js";
import type { Db } from "./db.js";
import { edgesOfWindow, uncertainFlows } from "./window-edges.js";

/**
 * Loads the GraphInput for a scope of one cluster from the store: the edges in the time window that touch at
 * least one in-scope namespace, the endpoints they name, every known pod of those endpoints'
 * namespaces (selectors must be checked against all of a namespace's pods), namespace labels,
 * DNS names of the peers' IPs and Service backends.
 *
 * A window counts each edge's flows in its whole hours (window-edges.ts) and keeps the edges
 * with flows there. `--min-flows` is applied later, by the graph, on allowed
 * edges summed over verdicts and sources.
 */
export function readGraphInput(db: Db, scope: Scope, cluster: string): GraphInput {
  const hours = windowOf(scope);
  const since = hours?.since ?? Number.MIN_SAFE_INTEGER;
  const until = hours?.until ?? Number.MAX_SAFE_INTEGER;
  const edgesTable = hours ? edgesOfWindow(db, hours) : "edges";
  const allEndpoints = (
    db
      .prepare(
        `SELECT id, type, namespace, kind, name, ip, first_seen AS first, last_seen AS last, flows
         FROM endpoints WHERE cluster = ? ORDER BY id`,
      )
      .all(cluster) as GraphInput["endpoints"]
  ).map((e) => ({ ...e }));
  const byId = new Map(allEndpoints.map((e) => [e.id, e]));
  const workloadNs = (id: number) => {
    const e = byId.get(id);
    return e && e.type === "workload" ? e.namespace : "";
  };

  const inWindow = db
    .prepare(
      `SELECT src_id AS srcId, dst_id AS dstId, protocol, port, verdict, source_system AS system, count,
              first_seen AS first, last_seen AS last, drop_reason AS dropReason
       FROM ${edgesTable} WHERE last_seen >= ? AND first_seen <= ? AND src_id IN (SELECT id FROM endpoints WHERE cluster = ?)
       ORDER BY src_id, dst_id, protocol, port, verdict, source_system`,
    )
    .all(since, until, cluster) as GraphInput["edges"];
  const edges = inWindow.filter((e) => inScope(scope, workloadNs(e.srcId)) || inScope(scope, workloadNs(e.dstId)));
  const stored = (
    db
      .prepare("SELECT count(*) AS n FROM edges WHERE src_id IN (SELECT id FROM endpoints WHERE cluster = ?)")
      .get(cluster) as { n: number }
  ).n;
  const leftOut = { outsideWindow: stored - inWindow.length, noEndInScope: inWindow.length - edges.length };

  const { namespaces, endpoints } = scopedEndpoints(scope, allEndpoints, edges, { since, until });
  const nsList = JSON.stringify([...namespaces]);

  const pods = (
    db
      .prepare(
        `SELECT namespace, name, endpoint_id AS endpointId, labels, service_account AS serviceAccount,
                first_seen AS first, last_seen AS last
         FROM pods WHERE cluster = ? AND namespace IN (SELECT value FROM json_each(?)) ORDER BY namespace, name`,
      )
      .all(cluster, nsList) as Array<Omit<GraphInput["pods"][number], "labels"> & { labels: string }>
  ).map((p) => ({ ...p, labels: parseLabels(p.labels) }));

  const namespaceRows = (
    db
      .prepare(
        "SELECT name, labels FROM namespaces WHERE cluster = ? AND name IN (SELECT value FROM json_each(?)) ORDER BY name",
      )
      .all(cluster, nsList) as Array<{ name: string; labels: string }>
  ).map((n) => ({ name: n.name, labels: parseLabels(n.labels) }));

  const ips = JSON.stringify([...new Set(endpoints.filter((e) => e.ip).map((e) => e.ip))]);
  const dnsNames = db
    .prepare(
      `SELECT ip, name, count, first_seen AS first, last_seen AS last FROM dns_names
       WHERE ip IN (SELECT value FROM json_each(?)) ORDER BY ip, name`,
    )
    .all(ips) as GraphInput["dnsNames"];

  const services = db
    .prepare(
      `SELECT namespace, name, endpoint_id AS endpointId, protocol, port, count FROM services
       WHERE endpoint_id IN (SELECT value FROM json_each(?)) ORDER BY namespace, name, endpoint_id, protocol, port`,
    )
    .all(JSON.stringify(endpoints.map((e) => e.id))) as GraphInput["services"];

  const input: GraphInput = { scope, leftOut, endpoints, pods, namespaces: namespaceRows, edges, dnsNames, services };
  if (hours) input.window = { since, until, uncertain: uncertainFlows(db, hours, cluster) };
  return input;
}

function parseLabels(json: string): Record<string, string> {
  if (!json) return {};
  const parsed = JSON.parse(json) as unknown;
  return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
}
