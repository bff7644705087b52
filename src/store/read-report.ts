import { type CountWindow, windowOf } from "../model/edge-hours.js";
import type { Db } from "./db.js";
import type { ObservedWindow } from "./store.js";
import { edgesOfWindow, uncertainFlows } from "./window-edges.js";

/**
 * Everything the discovery report and the rollout's pull request read from the store, as plain
 * data. Endpoints and edges are aggregates (the store keeps no raw flows).
 */
export interface StoreEndpoint {
  id: number;
  type: "workload" | "entity" | "external" | "unknown";
  namespace: string;
  kind: string;
  name: string;
  ip: string;
  firstSeen: number;
  lastSeen: number;
  flows: number;
  /** Distinct pods seen for a workload (for a Job or CronJob: its runs). */
  pods: number;
  /** DNS names seen for the endpoint's IP. */
  dnsNames: string[];
}

export interface StoreEdge {
  src: number;
  dst: number;
  protocol: string;
  port: number;
  verdict: string;
  sourceSystem: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  dropReason: string;
  policies: string[];
}

export interface StoreGap {
  sourceSystem: string;
  kind: string;
  node: string;
  detail: string;
  count: number;
  firstSeen: number | null;
  lastSeen: number | null;
}

export interface StoreSource {
  system: string;
  ingests: number;
  flows: number;
  badLines: number;
}

export interface StoreSnapshot {
  /** Only with a window: the whole hours counted. */
  window?: CountWindow;
  endpoints: StoreEndpoint[];
  edges: StoreEdge[];
  gaps: StoreGap[];
  sources: StoreSource[];
  services: Array<{
    namespace: string;
    name: string;
    endpointId: number;
    protocol: string;
    port: number;
    count: number;
  }>;
}

/**
 * With a window, edges count their flows in its whole hours (window-edges.ts) and the endpoints
 * are those of these edges, each with the flows, first and last seen of its edges there
 * (`windowEndpoints`).
 */
export function readStoreSnapshot(db: Db, cluster: string, window: ObservedWindow = {}): StoreSnapshot {
  const hours = windowOf(window);
  const names = new Map<string, string[]>();
  for (const r of db.prepare("SELECT ip, name FROM dns_names ORDER BY ip, name").all() as Array<{
    ip: string;
    name: string;
  }>) {
    const known = names.get(r.ip);
    if (known) known.push(r.name);
    else names.set(r.ip, [r.name]);
  }
  const endpoints = (
    db
      .prepare(
        `SELECT e.id, e.type, e.namespace, e.kind, e.name, e.ip, e.first_seen AS firstSeen, e.last_seen AS lastSeen, e.flows,
                (SELECT count(*) FROM pods p WHERE p.endpoint_id = e.id) AS pods
         FROM endpoints e WHERE e.cluster = ? ORDER BY e.type, e.namespace, e.kind, e.name, e.ip`,
      )
      .all(cluster) as Array<Omit<StoreEndpoint, "dnsNames">>
  ).map((e) => ({ ...e, dnsNames: e.ip ? (names.get(e.ip) ?? []) : [] }));
  const policies = new Map<number, string[]>();
  for (const r of db
    .prepare("SELECT edge_id AS id, policy FROM edge_policies ORDER BY edge_id, policy")
    .all() as Array<{
    id: number;
    policy: string;
  }>) {
    const known = policies.get(r.id);
    if (known) known.push(r.policy);
    else policies.set(r.id, [r.policy]);
  }
  const edges = (
    db
      .prepare(
        `SELECT id, src_id AS src, dst_id AS dst, protocol, port, verdict, source_system AS sourceSystem, count,
                first_seen AS firstSeen, last_seen AS lastSeen, drop_reason AS dropReason
         FROM ${hours ? edgesOfWindow(db, hours) : "edges"} WHERE src_id IN (SELECT id FROM endpoints WHERE cluster = ?)
         ORDER BY src_id, dst_id, protocol, port, verdict, source_system`,
      )
      .all(cluster) as Array<Omit<StoreEdge, "policies"> & { id: number }>
  ).map(({ id, ...e }) => ({ ...e, policies: policies.get(id) ?? [] }));
  const gaps = db
    .prepare(
      `SELECT source_system AS sourceSystem, kind, node, detail, sum(count) AS count, min(first_seen) AS firstSeen, max(last_seen) AS lastSeen
       FROM gaps GROUP BY source_system, kind, node, detail ORDER BY source_system, kind, node, detail`,
    )
    .all() as StoreGap[];
  const sources = db
    .prepare(
      `SELECT source_system AS system, count(*) AS ingests, coalesce(sum(flows), 0) AS flows, coalesce(sum(bad), 0) AS badLines
       FROM ingests GROUP BY source_system ORDER BY source_system`,
    )
    .all() as StoreSource[];
  const services = db
    .prepare(
      `SELECT namespace, name, endpoint_id AS endpointId, protocol, port, count FROM services
       WHERE endpoint_id IN (SELECT id FROM endpoints WHERE cluster = ?)
       ORDER BY namespace, name, endpoint_id, protocol, port`,
    )
    .all(cluster) as StoreSnapshot["services"];
  if (!hours) return { endpoints, edges, gaps, sources, services };
  const counted = { since: hours.since, until: hours.until, uncertain: uncertainFlows(db, hours, cluster) };
  return { window: counted, endpoints: windowEndpoints(endpoints, edges), edges, gaps, sources, services };
}

/**
 * The endpoints of a window's edges, each with their flows (an edge's flows count at both its
 * ends, as an endpoint's flows do; replies are not kept by hour) and their first and last seen.
 */
export function windowEndpoints(endpoints: StoreEndpoint[], edges: StoreEdge[]): StoreEndpoint[] {
  const seen = new Map<number, { flows: number; first: number; last: number }>();
  for (const e of edges) {
    for (const id of e.src === e.dst ? [e.src] : [e.src, e.dst]) {
      const s = seen.get(id);
      if (!s) seen.set(id, { flows: e.count, first: e.firstSeen, last: e.lastSeen });
      else {
        s.flows += e.count;
        s.first = Math.min(s.first, e.firstSeen);
        s.last = Math.max(s.last, e.lastSeen);
      }
    }
  }
  return endpoints.flatMap((e) => {
    const s = seen.get(e.id);
    return s ? [{ ...e, flows: s.flows, firstSeen: s.first, lastSeen: s.last }] : [];
  });
}
