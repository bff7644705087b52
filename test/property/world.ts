import fc from "fast-check";
import type { Scenario, SimConnection, SimEvent, SimKind, SimPeer, SimWorkload } from "../../src/samples/scenario.js";
import { buildCluster, type SimCluster, workloadKey } from "../../src/samples/simulate.js";
import { EMITTERS } from "../../src/samples/write-simulation.js";

/**
 * Random clusters for the property tests, as the simulator's Scenario (so that the same world is
 * rendered by the Hubble, Calico flow-log and Goldmane emitters of src/samples): random app
 * namespaces; Deployments (pods named with a pod-template hash), StatefulSets, DaemonSets and
 * CronJobs; identity labels under `app`, `app.kubernetes.io/name` or `k8s-app`, shared labels
 * (`tier`, `app.kubernetes.io/part-of`), canaries (the same app under `version: v1`/`v2`);
 * CoreDNS; an optional Prometheus; kubelet probes and hostNetwork agents (the `host` entity);
 * NodeLocal DNS (169.254.20.10 seen as `host`); the API server; external hosts with and without
 * DNS names; and connections that were dropped.
 */

const APP_NAMESPACES = ["shop", "payments", "tenant-a", "data"];
const NAMES = ["web", "api", "cart", "db", "cache", "worker", "auth", "search"];
const IDENTITY_KEYS = ["app", "app.kubernetes.io/name", "k8s-app"] as const;
const PORTS = [80, 443, 5432, 6379, 8080, 9090];
const KINDS: SimKind[] = ["Deployment", "Deployment", "StatefulSet", "DaemonSet", "CronJob"];
const API_SERVER = "172.18.0.2";
const NODE_LOCAL_DNS = "169.254.20.10";

export interface WorldApp {
  namespace: string;
  name: string;
  kind: SimKind;
  identityKey: (typeof IDENTITY_KEYS)[number];
  tier: "front" | "back" | undefined;
  partOf: boolean;
  canary: boolean;
  replicas: number;
}

export interface WorldCall {
  from: number;
  to: number;
  port: number;
  protocol: "TCP" | "UDP";
  dropped: boolean;
}

/** A world as plain data: fast-check shrinks it, and a failing one pastes into a regression test. */
export interface World {
  apps: WorldApp[];
  calls: WorldCall[];
  /** Indexes of apps that resolve names through CoreDNS / through NodeLocal DNS. */
  dns: number[];
  nodeLocalDns: number[];
  probes: Array<{ to: number; port: number }>;
  /** hostNetwork agents scraping apps (source: the host entity). */
  agents: number[];
  apiServer: number[];
  externals: Array<{ from: number; ip: number; port: number; named: boolean }>;
  prometheus: number[];
}

const appArb = fc.record({
  namespace: fc.constantFrom(...APP_NAMESPACES),
  name: fc.constantFrom(...NAMES),
  kind: fc.constantFrom(...KINDS),
  identityKey: fc.constantFrom(...IDENTITY_KEYS),
  tier: fc.constantFrom("front" as const, "back" as const, undefined),
  partOf: fc.boolean(),
  canary: fc.boolean(),
  replicas: fc.integer({ min: 1, max: 3 }),
});

export const worldArb: fc.Arbitrary<World> = fc
  .uniqueArray(appArb, { minLength: 2, maxLength: 6, selector: (a) => `${a.namespace}/${a.name}` })
  .chain((apps) => {
    const index = fc.integer({ min: 0, max: apps.length - 1 });
    const some = fc.uniqueArray(index, { maxLength: apps.length });
    return fc.record({
      apps: fc.constant(apps),
      calls: fc.array(
        fc.record({
          from: index,
          to: index,
          port: fc.constantFrom(...PORTS),
          protocol: fc.constantFrom("TCP" as const, "TCP" as const, "UDP" as const),
          dropped: fc.boolean(),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      dns: some,
      nodeLocalDns: some,
      probes: fc.array(fc.record({ to: index, port: fc.constantFrom(...PORTS) }), { maxLength: 3 }),
      agents: some,
      apiServer: some,
      externals: fc.array(
        fc.record({
          from: index,
          ip: fc.integer({ min: 1, max: 250 }),
          port: fc.constantFrom(443, 587),
          named: fc.boolean(),
        }),
        { maxLength: 3 },
      ),
      prometheus: some,
    });
  });

function labelsOf(app: WorldApp, version: string | undefined): Record<string, string> {
  const labels: Record<string, string> = { [app.identityKey]: app.name };
  if (app.tier) labels.tier = app.tier;
  if (app.partOf) labels["app.kubernetes.io/part-of"] = app.namespace;
  if (version) labels.version = version;
  return labels;
}

/** The app's workloads: itself, and its canary (same identity label, `version: v2`). */
function workloadsOf(app: WorldApp): SimWorkload[] {
  const base: SimWorkload = {
    namespace: app.namespace,
    name: app.name,
    kind: app.kind,
    labels: labelsOf(app, app.canary ? "v1" : undefined),
    replicas: app.kind === "CronJob" ? 1 : app.replicas,
    serviceAccount: app.name,
    service: true,
  };
  if (!app.canary || app.kind !== "Deployment") return [base];
  return [base, { ...base, name: `${app.name}-canary`, labels: labelsOf(app, "v2"), replicas: 1 }];
}

const COREDNS: SimWorkload = {
  namespace: "kube-system",
  name: "coredns",
  kind: "Deployment",
  labels: { "k8s-app": "kube-dns" },
  replicas: 2,
  serviceAccount: "coredns",
  service: true,
};
const PROMETHEUS: SimWorkload = {
  namespace: "monitoring",
  name: "prometheus",
  kind: "StatefulSet",
  labels: { "app.kubernetes.io/name": "prometheus" },
  replicas: 1,
  serviceAccount: "prometheus",
};

export function scenarioOf(world: World): Scenario {
  const appWorkloads = world.apps.map(workloadsOf);
  const all = [...appWorkloads.flat(), COREDNS, ...(world.prometheus.length > 0 ? [PROMETHEUS] : [])];
  const w = (wl: SimWorkload): SimPeer => ({ workload: workloadKey(wl) });
  const c = (from: SimPeer, to: SimPeer, port: number, protocol: "TCP" | "UDP" = "TCP"): SimConnection => ({
    from,
    to,
    protocol,
    port,
    weight: 1,
  });
  const connections: SimConnection[] = [];
  // Every workload of an app makes the app's calls (a canary takes part of the traffic).
  const each = (i: number) => appWorkloads[i] ?? [];
  for (const call of world.calls) {
    // A call to itself goes to the next app: every world has traffic between two workloads.
    const to = call.to === call.from ? (call.to + 1) % world.apps.length : call.to;
    for (const src of each(call.from)) {
      for (const dst of each(to)) {
        const conn = c(w(src), w(dst), call.port, call.protocol);
        connections.push(call.dropped ? { ...conn, verdict: "dropped", dropReason: "POLICY_DENIED" } : conn);
      }
    }
  }
  for (const i of world.dns) for (const src of each(i)) connections.push(c(w(src), w(COREDNS), 53, "UDP"));
  for (const i of world.nodeLocalDns) {
    for (const src of each(i)) connections.push(c(w(src), { entity: "host", ip: NODE_LOCAL_DNS }, 53, "UDP"));
  }
  for (const p of world.probes) for (const dst of each(p.to)) connections.push(c({ entity: "host" }, w(dst), p.port));
  for (const i of world.agents) for (const dst of each(i)) connections.push(c({ entity: "host" }, w(dst), 9100));
  for (const i of world.apiServer) {
    for (const src of each(i)) connections.push(c(w(src), { entity: "kube-apiserver", ip: API_SERVER }, 6443));
  }
  for (const e of world.externals) {
    const external = { ip: `203.0.113.${e.ip}`, names: e.named ? [`svc${e.ip}.example.com`] : [] };
    for (const src of each(e.from)) connections.push(c(w(src), { external }, e.port));
  }
  for (const i of world.prometheus) for (const dst of each(i)) connections.push(c(w(PROMETHEUS), w(dst), 9464));
  const namespaces = [...new Set(all.map((x) => x.namespace))].sort();
  return {
    name: "property-world",
    clusterName: "default",
    nodes: [
      { name: "node-a", ip: "172.18.0.3" },
      { name: "node-b", ip: "172.18.0.4" },
    ],
    namespaces: namespaces.map((name) => ({ name, labels: { "kubernetes.io/metadata.name": name } })),
    workloads: all,
    connections: dedupe(connections),
    start: Date.UTC(2026, 10, 20),
    durationMs: 2 * 3600 * 1000,
  };
}

function dedupe(connections: SimConnection[]): SimConnection[] {
  const seen = new Map<string, SimConnection>();
  for (const c of connections) {
    const key = JSON.stringify([c.from, c.to, c.protocol, c.port]);
    const prev = seen.get(key);
    // One key forwarded and dropped: it works (the drop was a transient), keep it forwarded.
    if (!prev || (prev.verdict === "dropped" && c.verdict !== "dropped")) seen.set(key, c);
  }
  return [...seen.values()];
}

/**
 * Every connection of the scenario, twice per pod generation (Deployments roll out half way, so
 * pod names and hashes change), at fixed times: every connection is observed in every format.
 */
export function eventsOf(cluster: SimCluster, connections = cluster.scenario.connections): SimEvent[] {
  const { start, durationMs } = cluster.scenario;
  const events: SimEvent[] = [];
  const n = Math.max(connections.length, 1);
  connections.forEach((connection, i) => {
    for (const half of [0, 1]) {
      for (const repeat of [0, 1]) {
        const time = Math.floor(start + half * (durationMs / 2) + ((i + repeat / 2 + 0.25) / n) * (durationMs / 2));
        const podOf = (peer: SimPeer) => {
          if (!("workload" in peer)) return undefined;
          const generations = cluster.pods.get(peer.workload) ?? [];
          const gen = generations[half] ?? generations[0] ?? [];
          const pod = gen[(i + repeat) % Math.max(gen.length, 1)];
          // A CronJob's Job is named after its scheduled time in minutes, as the controller does.
          return pod && { ...pod, name: pod.name.replace("{run}", String(Math.floor(time / 3_600_000) * 60)) };
        };
        const srcPod = podOf(connection.from);
        const dstPod = podOf(connection.to);
        const ipOf = (peer: SimPeer, pod: typeof srcPod, other: typeof srcPod) =>
          pod?.ip ??
          ("external" in peer
            ? peer.external.ip
            : "entity" in peer
              ? (peer.ip ?? other?.node.ip ?? "172.18.0.3")
              : "0.0.0.0");
        events.push({
          time,
          connection,
          srcPod,
          dstPod,
          srcIp: ipOf(connection.from, srcPod, dstPod),
          dstIp: ipOf(connection.to, dstPod, srcPod),
          srcPort: 40000 + ((i * 7 + half * 3 + repeat) % 20000),
        });
      }
    }
  });
  return events.sort((a, b) => a.time - b.time);
}

export const FORMATS = ["hubble", "calico-level0", "calico", "goldmane"] as const;
export type Format = (typeof FORMATS)[number];

/** The world's flow records in one format. */
export function render(cluster: SimCluster, events: readonly SimEvent[], format: Format | "hubble-probe"): string {
  const emitter = EMITTERS[format === "hubble-probe" ? "hubble" : format]!.create(cluster, 5);
  const lines: string[] = [];
  for (const e of events) lines.push(...emitter.lines(e));
  lines.push(...(emitter.flush?.() ?? []));
  return `${lines.join("\n")}\n`;
}

export function clusterOf(scenario: Scenario): SimCluster {
  return buildCluster(scenario, 3);
}
