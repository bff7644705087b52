import { once } from "node:events";
import { createWriteStream, renameSync } from "node:fs";
import { Random } from "../src/samples/random.js";
import type { Scenario, SimConnection, SimEvent, SimPod, SimWorkload } from "../src/samples/scenario.js";
import type { SimCluster } from "../src/samples/simulate.js";
import { EMITTERS } from "../src/samples/write-simulation.js";

/**
 * High-churn traffic, independent of the online-boutique simulation: 1,200 workloads in 60
 * namespaces on 8 nodes, 4,000 edges (TCP and UDP, 3% denied), and pods replaced all the time (a
 * new pod name and IP for about one connection in six: 1,000,000 Hubble records see more than
 * 60,000 pod IPs). Every connection has a random ephemeral source port; the Hubble emitter gives
 * each record its own uuid and writes requests at both ends, replies and drops. The same events
 * render as Hubble JSON, Calico flow logs at level 0 or Goldmane JSON through the simulator's
 * emitters. Seeded: the same arguments give the same file.
 */

const NAMESPACES = 60;
const WORKLOADS = 1_200;
const NODES = 8;
const EDGES = 4_000;
const PODS_PER_WORKLOAD = 2;
const REPLACE_SHARE = 0.16;
const DENIED_SHARE = 0.03;
const WINDOW_MS = 3_600_000;
const PORTS = [80, 443, 8080, 8443, 5432, 6379, 9090, 9092, 3306, 27017];

export type ChurnFormat = "hubble" | "calico-level0" | "goldmane";

interface ChurnState {
  cluster: SimCluster;
  edges: SimConnection[];
  pods: Map<string, SimPod[]>;
  nextIp: number;
  random: Random;
}

function churnCluster(seed: number): ChurnState {
  const random = new Random(seed);
  const nodes = Array.from({ length: NODES }, (_, i) => ({ name: `worker-${i}`, ip: `172.18.0.${10 + i}` }));
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => ({
    name: `team-${i}`,
    labels: { "kubernetes.io/metadata.name": `team-${i}`, team: `t${i % 12}` },
  }));
  const workloads: SimWorkload[] = Array.from({ length: WORKLOADS }, (_, i) => {
    const namespace = `team-${i % NAMESPACES}`;
    const name = `svc-${i}`;
    return {
      namespace,
      name,
      kind: "Deployment",
      labels: { app: name, tier: ["web", "api", "db", "cache"][i % 4] as string },
      replicas: PODS_PER_WORKLOAD,
      serviceAccount: name,
      service: i % 2 === 0,
    };
  });
  const key = (w: SimWorkload) => `${w.namespace}/${w.name}`;
  const edges: SimConnection[] = Array.from({ length: EDGES }, () => {
    const udp = random.next() < 0.1;
    const denied = random.next() < DENIED_SHARE;
    return {
      from: { workload: key(random.pick(workloads)) },
      to: { workload: key(random.pick(workloads)) },
      protocol: udp ? "UDP" : "TCP",
      port: udp ? random.pick([53, 514, 8125]) : random.pick(PORTS),
      weight: 1,
      ...(denied ? { verdict: "dropped" as const, dropReason: "POLICY_DENIED" } : {}),
    };
  });
  const scenario: Scenario = {
    name: "churn",
    clusterName: "churn",
    nodes,
    namespaces,
    workloads,
    connections: edges,
    start: Date.UTC(2026, 10, 20),
    durationMs: WINDOW_MS,
  };
  const cluster: SimCluster = { scenario, pods: new Map(), workloads: new Map(workloads.map((w) => [key(w), w])) };
  const state: ChurnState = { cluster, edges, pods: new Map(), nextIp: 1, random };
  for (const w of workloads) {
    state.pods.set(
      key(w),
      Array.from({ length: PODS_PER_WORKLOAD }, () => newPod(state, w)),
    );
  }
  return state;
}

function newPod(state: ChurnState, w: SimWorkload): SimPod {
  const n = state.nextIp++;
  const node = state.random.pick(state.cluster.scenario.nodes);
  return {
    workload: w,
    name: `${w.name}-${state.random.suffix(10)}-${state.random.suffix(5)}`,
    ip: `10.${64 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255}`,
    node,
    labels: { ...w.labels },
  };
}

function* churnEvents(state: ChurnState, count: number): Generator<SimEvent> {
  const { random } = state;
  const { start } = state.cluster.scenario;
  const step = WINDOW_MS / Math.max(count, 1);
  for (let i = 0; i < count; i++) {
    if (random.next() < REPLACE_SHARE) {
      const w = random.pick(state.cluster.scenario.workloads);
      const pods = state.pods.get(`${w.namespace}/${w.name}`) as SimPod[];
      pods[random.int(0, pods.length - 1)] = newPod(state, w);
    }
    const connection = random.pick(state.edges);
    const from = connection.from as { workload: string };
    const to = connection.to as { workload: string };
    const srcPod = random.pick(state.pods.get(from.workload) as SimPod[]);
    const dstPod = random.pick(state.pods.get(to.workload) as SimPod[]);
    yield {
      time: Math.floor(start + i * step + random.next() * step),
      connection,
      srcPod,
      dstPod,
      srcIp: srcPod.ip,
      dstIp: dstPod.ip,
      srcPort: random.int(32768, 60999),
    };
  }
}

/** About `records` lines of high-churn traffic in `format` (without newlines); `podIps()` counts the pods made. */
export function churnLines(
  format: ChurnFormat,
  records: number,
  seed = 42,
): { lines: Generator<string>; podIps: () => number } {
  const factory = EMITTERS[format];
  if (!factory) throw new Error(`no emitter for ${format}`);
  const state = churnCluster(seed);
  const emitter = factory.create(state.cluster, seed + 10);
  // Goldmane merges a window's connections per workload pair: more events for as many records.
  const events = Math.ceil(records / (format === "goldmane" ? 0.12 : factory.recordsPerEvent));
  function* lines(): Generator<string> {
    let written = 0;
    for (const event of churnEvents(state, events)) {
      for (const line of emitter.lines(event)) {
        if (written++ >= records) return;
        yield line;
      }
    }
    for (const line of emitter.flush?.() ?? []) {
      if (written++ >= records) return;
      yield line;
    }
  }
  return { lines: lines(), podIps: () => state.nextIp - 1 };
}

/** Writes about `records` lines of high-churn traffic in `format`; returns the lines and pod IPs written. */
export async function writeChurn(
  format: ChurnFormat,
  records: number,
  path: string,
  seed = 42,
): Promise<{ records: number; podIps: number }> {
  const churn = churnLines(format, records, seed);
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  let written = 0;
  let buffer = "";
  for (const line of churn.lines) {
    buffer += `${line}\n`;
    written++;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
  renameSync(tmp, path);
  return { records: written, podIps: churn.podIps() };
}
