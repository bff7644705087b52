import { type Observed, type ObservedEdge, type ObservedPeer, peerOf, workloadLabelSets } from "../../diff/observed.js";
import { type GraphInput, inScope, type Scope, scopedEndpoints } from "../../graph/input.js";
import type { EndpointType } from "../../model/batch.js";
import { type CountWindow, isoWindow, windowOf } from "../../model/edge-hours.js";
import { ALLOWED_VERDICTS } from "../../model/flow.js";
import { type StoreSnapshot, windowEndpoints } from "../read-report.js";
import type { StoreStats } from "../stats.js";
import type { ObservedWindow } from "../store.js";
import type { Connection } from "./connection.js";
import { literalList } from "./sql.js";
import {
  committed,
  dnsNamesSql,
  edgeHoursSql,
  edgesSql,
  endpointsSql,
  gapsSql,
  ingestsSql,
  namespacesSql,
  podsSql,
  progressSql,
  servicesSql,
  type Tables,
} from "./views.js";

/**
 * The read side of the ClickHouse store: the same plain data, in the same order, as the SQLite
 * readers (`read-graph.ts`, `read-observed.ts`, `read-report.ts`, `stats.ts`). Endpoint ids are
 * the position of the endpoint in identity order (SQLite's are insertion order): ids only need to
 * be unique within one read, and everything that reaches output is named, not numbered.
 */
interface EndpointRow {
  cluster: string;
  type: EndpointType;
  namespace: string;
  kind: string;
  name: string;
  ip: string;
  first: number;
  last: number;
  flows: number;
}

interface EdgeRow {
  src_cluster: string;
  src_type: string;
  src_namespace: string;
  src_kind: string;
  src_name: string;
  src_ip: string;
  dst_cluster: string;
  dst_type: string;
  dst_namespace: string;
  dst_kind: string;
  dst_name: string;
  dst_ip: string;
  protocol: string;
  port: number;
  verdict: string;
  system: string;
  count: number;
  first: number;
  last: number;
  drop_reason: string;
  policies: string[];
  /** With a window: flows of an unknown hour counted that may lie outside it. */
  uncertain?: number;
}

type EpTuple = [string, string, string, string, string, string];

const edgeKeyOf = (r: EdgeRow) =>
  [
    r.src_cluster,
    r.src_type,
    r.src_namespace,
    r.src_kind,
    r.src_name,
    r.src_ip,
    r.dst_cluster,
    r.dst_type,
    r.dst_namespace,
    r.dst_kind,
    r.dst_name,
    r.dst_ip,
    r.protocol,
    r.port,
    r.verdict,
    r.system,
  ].join("\u0000");

const key = (cluster: string, type: string, namespace: string, kind: string, name: string, ip: string) =>
  `${cluster}|${type}|${namespace}|${kind}|${name}|${ip}`;

export class Reader {
  constructor(
    private readonly conn: Connection,
    private readonly t: Tables,
  ) {}

  /** Every endpoint (of a cluster) with its id (1.. in identity order), and a lookup by identity. */
  private async endpoints(
    cluster: string | undefined,
  ): Promise<{ list: GraphInput["endpoints"]; ids: Map<string, number> }> {
    const rows = await this.conn.query<EndpointRow>(endpointsSql(this.t, cluster));
    const ids = new Map<string, number>();
    const list = rows.map(({ cluster: c, ...r }, i) => {
      ids.set(key(c, r.type, r.namespace, r.kind, r.name, r.ip), i + 1);
      return { id: i + 1, ...r };
    });
    return { list, ids };
  }

  private static idOf(ids: Map<string, number>, ...k: EpTuple): number {
    return ids.get(key(...k)) ?? 0;
  }

  /** Edges in identity order; with a window, those with flows in its whole hours, counting those. */
  private async edges(window: ObservedWindow, cluster: string | undefined): Promise<EdgeRow[]> {
    const hours = windowOf(window);
    if (!hours) return this.conn.query<EdgeRow>(edgesSql(this.t, cluster));
    const all = await this.conn.query<EdgeRow>(edgesSql(this.t, cluster));
    // An older store read as it is has no hours: every flow is of an unknown hour in its edge's span.
    const counted =
      this.t.hourly === false
        ? all.map((r) => ({ ...r, uncertain: r.first < hours.since || r.last > hours.until ? r.count : 0 }))
        : await this.conn.query<EdgeRow & { uncertain: number }>(edgeHoursSql(this.t, cluster, hours));
    const byKey = new Map(counted.map((h) => [edgeKeyOf(h), h]));
    return all.flatMap((r) => {
      const h = byKey.get(edgeKeyOf(r));
      if (!h || h.count <= 0 || h.last < hours.since || h.first > hours.until) return [];
      const first = Math.max(h.first, hours.since);
      return [{ ...r, count: h.count, first, last: Math.min(h.last, hours.until), uncertain: h.uncertain ?? 0 }];
    });
  }

  /** The window a read counted, from its edges. */
  private static counted(window: ObservedWindow, edges: EdgeRow[]): CountWindow | undefined {
    const hours = windowOf(window);
    if (!hours) return undefined;
    return { since: hours.since, until: hours.until, uncertain: edges.reduce((n, e) => n + (e.uncertain ?? 0), 0) };
  }

  private static src(ids: Map<string, number>, r: EdgeRow): number {
    return Reader.idOf(ids, r.src_cluster, r.src_type, r.src_namespace, r.src_kind, r.src_name, r.src_ip);
  }

  private static dst(ids: Map<string, number>, r: EdgeRow): number {
    return Reader.idOf(ids, r.dst_cluster, r.dst_type, r.dst_namespace, r.dst_kind, r.dst_name, r.dst_ip);
  }

  async graphInput(scope: Scope, cluster?: string): Promise<GraphInput> {
    const hours = windowOf(scope);
    const since = hours?.since ?? Number.MIN_SAFE_INTEGER;
    const until = hours?.until ?? Number.MAX_SAFE_INTEGER;
    const { list: allEndpoints, ids } = await this.endpoints(cluster);
    const byId = new Map(allEndpoints.map((e) => [e.id, e]));
    const workloadNs = (id: number) => {
      const e = byId.get(id);
      return e && e.type === "workload" ? e.namespace : "";
    };
    const rows = await this.edges(scope, cluster);
    const edges = rows
      .map((r) => ({
        srcId: Reader.src(ids, r),
        dstId: Reader.dst(ids, r),
        protocol: r.protocol,
        port: r.port,
        verdict: r.verdict,
        system: r.system,
        count: r.count,
        first: r.first,
        last: r.last,
        dropReason: r.drop_reason,
      }))
      .filter((e) => inScope(scope, workloadNs(e.srcId)) || inScope(scope, workloadNs(e.dstId)));
    const { namespaces, endpoints } = scopedEndpoints(scope, allEndpoints, edges, { since, until });
    const pods = (await this.pods(ids, cluster))
      .filter((p) => namespaces.has(p.namespace))
      .map(({ labels, ...p }) => ({ ...p, labels: parseLabels(labels) }));
    const namespaceRows = (await this.conn.query<{ name: string; labels: string }>(namespacesSql(this.t, cluster)))
      .filter((n) => namespaces.has(n.name))
      .map((n) => ({ name: n.name, labels: parseLabels(n.labels) }));
    const ips = new Set(endpoints.filter((e) => e.ip).map((e) => e.ip));
    const dnsNames = (await this.conn.query<GraphInput["dnsNames"][number]>(dnsNamesSql(this.t))).filter((d) =>
      ips.has(d.ip),
    );
    const endpointIds = new Set(endpoints.map((e) => e.id));
    const services = (await this.services(ids, cluster)).filter((s) => endpointIds.has(s.endpointId));
    const input: GraphInput = { scope, endpoints, pods, namespaces: namespaceRows, edges, dnsNames, services };
    const window = Reader.counted(scope, rows);
    if (window) input.window = window;
    return input;
  }

  private async pods(ids: Map<string, number>, cluster: string | undefined) {
    const rows = await this.conn.query<{
      namespace: string;
      name: string;
      ep: EpTuple;
      labels: string;
      service_account: string;
      first: number;
      last: number;
    }>(podsSql(this.t, cluster));
    return rows.map((p) => ({
      namespace: p.namespace,
      name: p.name,
      endpointId: Reader.idOf(ids, ...p.ep),
      labels: p.labels,
      serviceAccount: p.service_account,
      first: p.first,
      last: p.last,
    }));
  }

  /** Services in SQLite's order (namespace, name, endpoint id, protocol, port): ids follow identity order. */
  private async services(ids: Map<string, number>, cluster: string | undefined): Promise<GraphInput["services"]> {
    const rows = await this.conn.query<{
      namespace: string;
      name: string;
      ep_cluster: string;
      ep_type: string;
      ep_namespace: string;
      ep_kind: string;
      ep_name: string;
      ep_ip: string;
      protocol: string;
      port: number;
      count: number;
    }>(servicesSql(this.t, cluster));
    return rows.map((s) => ({
      namespace: s.namespace,
      name: s.name,
      endpointId: Reader.idOf(ids, s.ep_cluster, s.ep_type, s.ep_namespace, s.ep_kind, s.ep_name, s.ep_ip),
      protocol: s.protocol,
      port: s.port,
      count: s.count,
    }));
  }

  async observed(window: ObservedWindow = {}, cluster?: string): Promise<Observed> {
    const { list, ids } = await this.endpoints(cluster);
    const podSets = new Map<number, Array<Record<string, string>>>();
    const seenPairs = new Set<string>();
    for (const p of await this.pods(ids, cluster)) {
      const pair = `${p.endpointId}\u0000${p.labels}`;
      if (seenPairs.has(pair)) continue;
      seenPairs.add(pair);
      const sets = podSets.get(p.endpointId);
      if (sets) sets.push(parseLabels(p.labels));
      else podSets.set(p.endpointId, [parseLabels(p.labels)]);
    }
    const labels = new Map([...podSets].map(([id, sets]) => [id, workloadLabelSets(sets)]));
    const dnsNames = new Map<string, string[]>();
    for (const { ip, name } of await this.conn.query<{ ip: string; name: string }>(dnsNamesSql(this.t))) {
      const names = dnsNames.get(ip) ?? [];
      names.push(name);
      dnsNames.set(ip, names);
    }
    const peers = new Map<number, ObservedPeer>();
    for (const e of list) {
      const peer = peerOf(e, labels.get(e.id));
      const names = peer.kind === "ip" ? dnsNames.get(peer.ip) : undefined;
      if (peer.kind === "ip" && names) peer.dnsNames = names;
      peers.set(e.id, peer);
    }
    const edges: ObservedEdge[] = [];
    const grouped = new Map<string, ObservedEdge>();
    let dropped = 0;
    const droppedKeys = new Set<string>();
    const rows = await this.edges(window, cluster);
    for (const r of rows) {
      const srcId = Reader.src(ids, r);
      const dstId = Reader.dst(ids, r);
      const k = `${srcId}|${dstId}|${r.protocol}|${r.port}`;
      if (!ALLOWED_VERDICTS.has(r.verdict as never)) {
        if (!droppedKeys.has(k)) {
          droppedKeys.add(k);
          dropped++;
        }
        continue;
      }
      const existing = grouped.get(k);
      if (existing) {
        existing.flows += r.count;
        continue;
      }
      const src = peers.get(srcId);
      const dst = peers.get(dstId);
      if (!src || !dst) continue;
      const edge = { src, dst, protocol: r.protocol, port: r.port, flows: r.count };
      grouped.set(k, edge);
      edges.push(edge);
    }
    const namespaces = (await this.conn.query<{ name: string; labels: string }>(namespacesSql(this.t, cluster))).map(
      (n) => ({
        name: n.name,
        labels: parseLabels(n.labels),
      }),
    );
    const workloads = [...peers.values()].filter(
      (p): p is Extract<ObservedPeer, { kind: "workload" }> => p.kind === "workload",
    );
    const observed: Observed = { edges, namespaces, workloads, droppedEdges: dropped };
    const counted = Reader.counted(window, rows);
    if (counted) observed.window = counted;
    return observed;
  }

  async snapshot(cluster?: string, window: ObservedWindow = {}): Promise<StoreSnapshot> {
    const { list, ids } = await this.endpoints(cluster);
    const names = new Map<string, string[]>();
    for (const r of await this.conn.query<{ ip: string; name: string }>(dnsNamesSql(this.t))) {
      const known = names.get(r.ip);
      if (known) known.push(r.name);
      else names.set(r.ip, [r.name]);
    }
    const podCounts = new Map<number, number>();
    for (const p of await this.pods(ids, cluster)) podCounts.set(p.endpointId, (podCounts.get(p.endpointId) ?? 0) + 1);
    const endpoints = list.map((e) => ({
      id: e.id,
      type: e.type,
      namespace: e.namespace,
      kind: e.kind,
      name: e.name,
      ip: e.ip,
      firstSeen: e.first,
      lastSeen: e.last,
      flows: e.flows,
      pods: podCounts.get(e.id) ?? 0,
      dnsNames: e.ip ? (names.get(e.ip) ?? []) : [],
    }));
    const rows = await this.edges(window, cluster);
    const edges = rows.map((r) => ({
      src: Reader.src(ids, r),
      dst: Reader.dst(ids, r),
      protocol: r.protocol,
      port: r.port,
      verdict: r.verdict,
      sourceSystem: r.system,
      count: r.count,
      firstSeen: r.first,
      lastSeen: r.last,
      dropReason: r.drop_reason,
      policies: r.policies,
    }));
    const gaps = await this.conn.query<StoreSnapshot["gaps"][number]>(
      `SELECT g_system AS sourceSystem, g_kind AS kind, g_node AS node, g_detail AS detail, sum(g_count) AS count,
         min(g_first) AS firstSeen, max(g_last) AS lastSeen
       FROM (${gapsSql(this.t)}) GROUP BY g_system, g_kind, g_node, g_detail ORDER BY g_system, g_kind, g_node, g_detail`,
    );
    const ingests = await this.ingests();
    const bySystem = new Map<string, { system: string; ingests: number; flows: number; badLines: number }>();
    for (const i of ingests) {
      const s = bySystem.get(i.source_system) ?? { system: i.source_system, ingests: 0, flows: 0, badLines: 0 };
      s.ingests++;
      s.flows += i.flows;
      s.badLines += i.bad;
      bySystem.set(i.source_system, s);
    }
    const sources = [...bySystem.values()].sort((a, b) => compareBytes(a.system, b.system));
    const services = await this.services(ids, cluster);
    const counted = Reader.counted(window, rows);
    if (!counted) return { endpoints, edges, gaps, sources, services };
    return { window: counted, endpoints: windowEndpoints(endpoints, edges), edges, gaps, sources, services };
  }

  /** The ingest log joined with the progress of each ingest's committed batches. */
  async ingests(where = "1"): Promise<IngestLogRow[]> {
    const [logged, progress, wholes] = await Promise.all([
      this.conn.query<Omit<IngestLogRow, keyof Progress> & { finished: number }>(ingestsSql(this.t, where)),
      this.conn.query<Progress & { ingest_id: number }>(progressSql(this.t)),
      this.conn.query<{ w: string }>(
        `SELECT any(whole) AS w FROM ${this.t.table("batches")} WHERE whole != '' GROUP BY ingest_id`,
      ),
    ]);
    // A whole input's row is written with its batches' commit, in the same rows (see ClickHouseStore).
    const rows = [
      ...logged,
      ...wholes.map((w) => JSON.parse(w.w) as Omit<IngestLogRow, keyof Progress> & { finished: number }),
    ];
    const byId = new Map(progress.map((p) => [p.ingest_id, p]));
    return rows.map(({ finished, ...r }) => {
      const p = byId.get(r.id);
      return {
        ...r,
        finished_at: finished ? r.finished_at : null,
        bytes_done: p?.bytes_done ?? 0,
        lines_done: p?.lines_done ?? 0,
        content_hash: p?.content_hash ?? "",
        flows: p?.flows ?? 0,
        replies: p?.replies ?? 0,
        skipped: p?.skipped ?? 0,
        bad: p?.bad ?? 0,
        lost: p?.lost ?? 0,
      };
    });
  }

  /** The Kubernetes clusters with endpoints, sorted. */
  async clusters(): Promise<string[]> {
    const rows = await this.conn.query<{ cluster: string }>(
      `SELECT DISTINCT cluster FROM ${this.t.table("endpoints")} WHERE ${committed(this.t)} ORDER BY cluster`,
    );
    return rows.map((r) => r.cluster);
  }

  /** With a cluster, the graph's figures are that cluster's; the ingest log's are the store's. */
  async stats(cluster?: string, window: ObservedWindow = {}): Promise<StoreStats> {
    const all = await this.totals(cluster);
    const hours = windowOf(window);
    if (!hours) return all;
    const { list, ids } = await this.endpoints(cluster);
    const rows = await this.edges(window, cluster);
    const ends = new Set(rows.flatMap((r) => [Reader.src(ids, r), Reader.dst(ids, r)]));
    const onEdges = list.filter((x) => ends.has(x.id));
    const workloads = onEdges.filter((x) => x.type === "workload");
    const since = rows.length ? rows.reduce((m, r) => Math.min(m, r.first), Number.POSITIVE_INFINITY) : null;
    const until = rows.length ? rows.reduce((m, r) => Math.max(m, r.last), Number.NEGATIVE_INFINITY) : null;
    return {
      ...all,
      flows: rows.reduce((n, r) => n + r.count, 0),
      replies: null,
      edges: rows.length,
      allowedEdges: rows.filter((r) => ALLOWED_VERDICTS.has(r.verdict as never)).length,
      deniedEdges: rows.filter((r) => r.verdict === "dropped").length,
      workloads: workloads.length,
      namespaces: new Set(workloads.map((x) => x.namespace)).size,
      externalPeers: onEdges.filter((x) => x.type === "external").length,
      since: since === null ? null : new Date(since).toISOString(),
      until: until === null ? null : new Date(until).toISOString(),
      window: isoWindow(Reader.counted(window, rows) as CountWindow),
    };
  }

  private async totals(cluster?: string): Promise<StoreStats> {
    const ingests = (await this.ingests()).filter(
      (i) => i.status !== "running" || i.kind === "file" || i.kind === "grpc",
    );
    const sum = (f: (i: IngestLogRow) => number) => ingests.reduce((n, i) => n + f(i), 0);
    const { list } = await this.endpoints(cluster);
    const edges = await this.conn.query<{ edges: number; allowed: number; denied: number }>(
      `SELECT count() AS edges, countIf(verdict IN ${literalList(["forwarded", "audit", "redirected"])}) AS allowed,
         countIf(verdict = 'dropped') AS denied FROM (${edgesSql(this.t, cluster)})`,
    );
    const namespaces = await this.conn.query<{ n: number }>(
      `SELECT count() AS n FROM (${namespacesSql(this.t, cluster)})`,
    );
    const gaps = await this.conn.query<{ lost: number; gaps: number; nodes: string[] }>(
      `SELECT sumIf(g_count, g_kind = 'lost_events') AS lost, count() AS gaps,
         arraySort(groupUniqArrayIf(g_node, g_kind = 'node_unavailable' AND g_node != '')) AS nodes
       FROM (${gapsSql(this.t)})`,
    );
    const allIngests = await this.ingests();
    const sources = [...new Set(allIngests.map((i) => i.source_system))].sort(compareBytes);
    const since = list.length ? list.reduce((m, x) => Math.min(m, x.first), Number.POSITIVE_INFINITY) : null;
    const until = list.length ? list.reduce((m, x) => Math.max(m, x.last), Number.NEGATIVE_INFINITY) : null;
    const e = edges[0] ?? { edges: 0, allowed: 0, denied: 0 };
    const g = gaps[0] ?? { lost: 0, gaps: 0, nodes: [] };
    return {
      flows: sum((i) => i.flows),
      replies: sum((i) => i.replies),
      edges: e.edges,
      allowedEdges: e.allowed,
      deniedEdges: e.denied,
      workloads: list.filter((x) => x.type === "workload").length,
      namespaces: namespaces[0]?.n ?? 0,
      externalPeers: list.filter((x) => x.type === "external").length,
      lostEvents: g.lost,
      gaps: g.gaps,
      unavailableNodes: g.nodes,
      skippedLines: sum((i) => i.skipped),
      badLines: sum((i) => i.bad),
      ingests: ingests.length,
      sources,
      clusters: await this.clusters(),
      since: since === null ? null : new Date(since).toISOString(),
      until: until === null ? null : new Date(until).toISOString(),
    };
  }
}

interface Progress {
  bytes_done: number;
  lines_done: number;
  content_hash: string;
  flows: number;
  replies: number;
  skipped: number;
  bad: number;
  lost: number;
}

/** An ingest log row, as SQLite's `IngestRow`. */
export interface IngestLogRow extends Progress {
  id: number;
  source_system: string;
  kind: "file" | "stdin" | "grpc";
  path: string;
  format: string;
  head_hash: string;
  status: "running" | "complete" | "failed";
  started_at: number;
  finished_at: number | null;
}

/** Bytewise order of UTF-8 text, as SQLite's BINARY collation and ClickHouse's ORDER BY. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function parseLabels(json: string): Record<string, string> {
  if (!json) return {};
  const parsed = JSON.parse(json) as unknown;
  return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
}
