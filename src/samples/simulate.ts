import { Random } from "./random.js";
import type { Scenario, SimConnection, SimEvent, SimPeer, SimPod, SimWorkload } from "./scenario.js";

/**
 * Expands a scenario into pods and a time-ordered stream of connection events. Deterministic for
 * a given seed. Deployment `frontend`-style rollouts happen half way through the window, so pod
 * names (and hashes) change while the workload stays the same.
 */

const CRONJOB_PERIOD_MS = 3600 * 1000;
const EPHEMERAL_MIN = 32768;
const EPHEMERAL_MAX = 60999;

export interface SimCluster {
  scenario: Scenario;
  /** Pods per workload key "ns/name", per generation (0: before the rollout, 1: after). */
  pods: Map<string, SimPod[][]>;
  workloads: Map<string, SimWorkload>;
}

export function workloadKey(w: SimWorkload): string {
  return `${w.namespace}/${w.name}`;
}

export function buildCluster(scenario: Scenario, seed = 1): SimCluster {
  const random = new Random(seed);
  const pods = new Map<string, SimPod[][]>();
  const workloads = new Map<string, SimWorkload>();
  let ipCounter = 10;
  scenario.workloads.forEach((w, index) => {
    workloads.set(workloadKey(w), w);
    const generations: SimPod[][] = [];
    const rollsOut = w.kind === "Deployment" && index % 3 === 0;
    for (let gen = 0; gen < (rollsOut ? 2 : 1); gen++) {
      const hash = random.suffix(10);
      const list: SimPod[] = [];
      for (let i = 0; i < w.replicas; i++) {
        const nodeIndex = (index + i) % scenario.nodes.length;
        const node = scenario.nodes[nodeIndex] as { name: string; ip: string };
        ipCounter++;
        const ip = `10.244.${nodeIndex + 1}.${ipCounter % 250}`;
        const name =
          w.kind === "Deployment"
            ? `${w.name}-${hash}-${random.suffix(5)}`
            : w.kind === "StatefulSet"
              ? `${w.name}-${i}`
              : w.kind === "DaemonSet"
                ? `${w.name}-${random.suffix(5)}`
                : `${w.name}-{run}-${random.suffix(5)}`;
        list.push({ workload: w, name, ip, node, labels: { ...w.labels } });
      }
      generations.push(list);
    }
    pods.set(workloadKey(w), generations);
  });
  return { scenario, pods, workloads };
}

function podFor(cluster: SimCluster, key: string, time: number, random: Random): SimPod | undefined {
  const generations = cluster.pods.get(key);
  if (!generations) return undefined;
  const { start, durationMs } = cluster.scenario;
  const gen = generations.length > 1 && time >= start + durationMs / 2 ? 1 : 0;
  const pod = random.pick(generations[gen] ?? generations[0] ?? []);
  if (pod?.workload.kind !== "CronJob") return pod;
  const run = Math.floor(time / CRONJOB_PERIOD_MS) * (CRONJOB_PERIOD_MS / 60000);
  return { ...pod, name: pod.name.replace("{run}", String(run)) };
}

function peerIp(peer: SimPeer, pod: SimPod | undefined, other: SimPod | undefined): string {
  if (pod) return pod.ip;
  if ("external" in peer) return peer.external.ip;
  if ("entity" in peer) return peer.ip ?? other?.node.ip ?? "172.18.0.1";
  return "0.0.0.0";
}

/** Generates `count` connection events in time order. */
export function* simulateEvents(cluster: SimCluster, count: number, seed = 7): Generator<SimEvent> {
  const random = new Random(seed);
  const { connections, start, durationMs } = cluster.scenario;
  const cumulative: number[] = [];
  let total = 0;
  for (const c of connections) {
    total += c.weight;
    cumulative.push(total);
  }
  const step = durationMs / Math.max(count, 1);
  for (let i = 0; i < count; i++) {
    const time = Math.floor(start + i * step + random.next() * step);
    const connection = connections[random.weighted(cumulative)] as SimConnection;
    const srcPod = "workload" in connection.from ? podFor(cluster, connection.from.workload, time, random) : undefined;
    const dstPod = "workload" in connection.to ? podFor(cluster, connection.to.workload, time, random) : undefined;
    yield {
      time,
      connection,
      srcPod,
      dstPod,
      srcIp: peerIp(connection.from, srcPod, dstPod),
      dstIp: peerIp(connection.to, dstPod, srcPod),
      srcPort: random.int(EPHEMERAL_MIN, EPHEMERAL_MAX),
    };
  }
}
