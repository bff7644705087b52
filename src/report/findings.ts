import { CLOUD_METADATA_IPS } from "../model/cloud-metadata.js";
import type { CountWindow } from "../model/edge-hours.js";
import { ALLOWED_VERDICTS, type Verdict } from "../model/flow.js";
import { namedPeerLabel } from "../render/graph-view.js";
import type { NamespaceFacts } from "../rollout/plan.js";
import type { StoreEdge, StoreEndpoint, StoreGap, StoreSnapshot, StoreSource } from "../store/read-report.js";
import type { SharedServiceRow } from "./shared.js";

/** The discovery findings, computed from a store snapshot. Pure. */

export const DAY_MS = 86_400_000;

export interface WorkloadRow {
  id: number;
  namespace: string;
  kind: string;
  name: string;
  firstSeen: number;
  lastSeen: number;
  flows: number;
  pods: number;
  oneDayOnly: boolean;
}

export interface EdgeRow {
  src: string;
  dst: string;
  protocol: string;
  port: number;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export interface Findings {
  window: { since: number | null; until: number | null; spanMs: number; calendarDays: number };
  /** With --since/--until: the whole hours whose flows the report counts. */
  counted?: CountWindow;
  workloads: WorkloadRow[];
  oneDayWorkloads: WorkloadRow[];
  rareJobs: WorkloadRow[];
  lostEvents: number;
  unavailableNodes: string[];
  gaps: StoreGap[];
  sources: StoreSource[];
  /** The dependency graph's shared services (src/report/shared.ts), as generate sees them. */
  sharedServices: SharedServiceRow[];
  externalDestinations: Array<{ ip: string; dnsNames: string[]; ports: string[]; callers: string[]; flows: number }>;
  droppedOrAudited: Array<EdgeRow & { verdict: string; dropReason: string; policies: string[] }>;
  metadataCalls: Array<{ caller: string; ip: string; port: number; flows: number; verdict: string }>;
  allowedByNamespace: Map<string, EdgeRow[]>;
  namespaceFacts: Map<string, NamespaceFacts>;
}

export function endpointLabel(e: StoreEndpoint): string {
  switch (e.type) {
    case "workload":
      return `${e.namespace}/${e.name}`;
    case "entity":
      return e.ip ? `${e.name} (${e.ip})` : e.name;
    case "external":
      if (!e.ip) return namedPeerLabel(e.kind, e.name, e.namespace);
      return e.dnsNames[0] ? `${e.dnsNames[0]} (${e.ip})` : e.ip;
    default:
      return e.namespace ? `${e.namespace}/${e.ip || "unknown"}` : e.ip || "unknown";
  }
}

function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

export function analyze(
  snapshot: StoreSnapshot,
  options: { minJobRuns: number; shared: SharedServiceRow[] },
): Findings {
  const byId = new Map(snapshot.endpoints.map((e) => [e.id, e]));
  const label = (id: number) => {
    const e = byId.get(id);
    return e ? endpointLabel(e) : `endpoint ${id}`;
  };
  const flowEndpoints = snapshot.endpoints.filter((e) => e.flows > 0);
  const since = flowEndpoints.length ? Math.min(...flowEndpoints.map((e) => e.firstSeen)) : null;
  const until = flowEndpoints.length ? Math.max(...flowEndpoints.map((e) => e.lastSeen)) : null;
  const workloads: WorkloadRow[] = snapshot.endpoints
    .filter((e) => e.type === "workload")
    .map((e) => ({
      id: e.id,
      namespace: e.namespace,
      kind: e.kind,
      name: e.name,
      firstSeen: e.firstSeen,
      lastSeen: e.lastSeen,
      flows: e.flows,
      pods: e.pods,
      oneDayOnly: utcDay(e.firstSeen) === utcDay(e.lastSeen),
    }));
  const row = (e: StoreEdge): EdgeRow => ({
    src: label(e.src),
    dst: label(e.dst),
    protocol: e.protocol,
    port: e.port,
    count: e.count,
    firstSeen: e.firstSeen,
    lastSeen: e.lastSeen,
  });
  const allowed = snapshot.edges.filter((e) => ALLOWED_VERDICTS.has(e.verdict as Verdict));

  const { allowedByNamespace, facts } = namespaceFacts(workloads, allowed, byId, row);

  return {
    ...(snapshot.window ? { counted: snapshot.window } : {}),
    window: {
      since,
      until,
      spanMs: since === null || until === null ? 0 : until - since,
      calendarDays: since === null || until === null ? 0 : utcDay(until) - utcDay(since) + 1,
    },
    workloads,
    oneDayWorkloads: workloads.filter((w) => w.oneDayOnly),
    rareJobs: workloads.filter((w) => (w.kind === "Job" || w.kind === "CronJob") && w.pods < options.minJobRuns),
    lostEvents: snapshot.gaps.filter((g) => g.kind === "lost_events").reduce((n, g) => n + g.count, 0),
    unavailableNodes: [
      ...new Set(snapshot.gaps.filter((g) => g.kind.includes("unavailable")).map((g) => g.node || g.detail)),
    ].sort(),
    gaps: snapshot.gaps,
    sources: snapshot.sources,
    sharedServices: options.shared,
    externalDestinations: externalDestinations(allowed, byId, label),
    droppedOrAudited: snapshot.edges
      .filter((e) => e.verdict === "dropped" || e.verdict === "audit")
      .map((e) => ({ ...row(e), verdict: e.verdict, dropReason: e.dropReason, policies: e.policies })),
    metadataCalls: snapshot.edges
      .filter((e) => CLOUD_METADATA_IPS.has(byId.get(e.dst)?.ip ?? ""))
      .map((e) => ({
        caller: label(e.src),
        ip: byId.get(e.dst)?.ip ?? "",
        port: e.port,
        flows: e.count,
        verdict: e.verdict,
      })),
    allowedByNamespace,
    namespaceFacts: facts,
  };
}

type EndpointsById = Map<number, StoreSnapshot["endpoints"][number]>;

/** The external peers that allowed connections reach, with their ports, callers and flows. */
function externalDestinations(allowed: StoreEdge[], byId: EndpointsById, label: (id: number) => string) {
  const external = new Map<number, { ports: Set<string>; callers: Set<string>; flows: number }>();
  for (const e of allowed) {
    if (byId.get(e.dst)?.type !== "external") continue;
    const x = external.get(e.dst) ?? { ports: new Set<string>(), callers: new Set<string>(), flows: 0 };
    x.ports.add(`${e.port}/${e.protocol}`);
    x.callers.add(label(e.src));
    x.flows += e.count;
    external.set(e.dst, x);
  }

  return [...external.entries()]
    .map(([id, x]) => ({
      ip: byId.get(id)?.ip || label(id),
      dnsNames: byId.get(id)?.dnsNames ?? [],
      ports: [...x.ports].sort(),
      callers: [...x.callers].sort(),
      flows: x.flows,
    }))
    .sort((a, b) => (a.ip < b.ip ? -1 : 1));
}

/** Per namespace: the allowed connections into it, and the facts the rollout orders waves by. */
function namespaceFacts(
  workloads: WorkloadRow[],
  allowed: StoreEdge[],
  byId: EndpointsById,
  row: (e: StoreEdge) => EdgeRow,
): { allowedByNamespace: Map<string, EdgeRow[]>; facts: Map<string, NamespaceFacts> } {
  const allowedByNamespace = new Map<string, EdgeRow[]>();
  const facts = new Map<string, NamespaceFacts>();
  const fact = (ns: string) => {
    let f = facts.get(ns);
    if (!f) {
      f = { observedDays: 0, flows: 0, ingressPeers: 0, externalDestinations: 0, callsApiServer: false };
      facts.set(ns, f);
    }
    return f;
  };
  const peers = new Map<string, Set<number>>();
  const externals = new Map<string, Set<number>>();
  for (const w of workloads) {
    const f = fact(w.namespace);
    f.flows += w.flows;
    f.observedDays = Math.max(f.observedDays, Math.round(((w.lastSeen - w.firstSeen) / DAY_MS) * 10) / 10);
  }
  for (const e of allowed) {
    const src = byId.get(e.src);
    const dst = byId.get(e.dst);
    if (dst?.type === "workload") {
      const rows = allowedByNamespace.get(dst.namespace);
      if (rows) rows.push(row(e));
      else allowedByNamespace.set(dst.namespace, [row(e)]);
      peers.set(dst.namespace, (peers.get(dst.namespace) ?? new Set()).add(e.src));
    }
    if (src?.type === "workload") {
      if (dst?.type === "external")
        externals.set(src.namespace, (externals.get(src.namespace) ?? new Set()).add(e.dst));
      if (dst?.type === "entity" && dst.name === "kube-apiserver") fact(src.namespace).callsApiServer = true;
    }
  }
  for (const [ns, set] of peers) fact(ns).ingressPeers = set.size;
  for (const [ns, set] of externals) fact(ns).externalDestinations = set.size;

  return { allowedByNamespace, facts };
}
