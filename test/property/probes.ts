import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SimConnection, SimPeer, SimWorkload } from "../../src/samples/scenario.js";
import { workloadKey } from "../../src/samples/simulate.js";
import { runInProcess } from "../helpers/in-process.js";
import { clusterOf, eventsOf, render, scenarioOf, type World } from "./world.js";

/**
 * Connections nobody observed, rendered as Hubble records into probe stores that `flowpol diff`
 * judges against each source's generated policies (the path users run). Three stores, by what
 * the policies must say of them:
 * - `unobserved`: every ordered pair of observed workloads on every port observed into the
 *   destination; pods created later in each observed app namespace, with labels no policy names
 *   (`app: newcomer`), or with only the labels an app shares with others (`version`, `tier`,
 *   `app.kubernetes.io/part-of`, under another identity or none), calling everything and called
 *   on the ports of the app they imitate: denied, or allowed only through a named exception.
 * - `addresses`: IP peers that were never observed: an external address, a node address on port
 *   53 (nodes were seen only as probe sources), a node that was never seen, NodeLocal DNS on a
 *   port other than 53: denied, with no exception.
 * - `clones`: a new pod with exactly the labels of an observed workload, in its place in every
 *   observed connection: the same decision as the workload's own.
 */
export interface Probes {
  /** The probe stores; undefined when the world gives nothing to probe that way. */
  unobserved: string | undefined;
  addresses: string | undefined;
  clones: string | undefined;
  /** Clone workload id (`ns/name-clone[Deployment]`) to the id of the workload it copies. */
  cloneOf: Map<string, string>;
}

export const UNSEEN_EXTERNAL = "203.0.113.251";
export const UNSEEN_NODE = "172.18.0.99";
const NODE_LOCAL_DNS = "169.254.20.10";
const SHARED_KEYS = ["version", "tier", "app.kubernetes.io/part-of"];

const wl = (w: SimWorkload): SimPeer => ({ workload: workloadKey(w) });
const conn = (from: SimPeer, to: SimPeer, protocol: "TCP" | "UDP", port: number): SimConnection => ({
  from,
  to,
  protocol,
  port,
  weight: 1,
});

async function store(
  dir: string,
  name: string,
  workloads: SimWorkload[],
  world: World,
  connections: SimConnection[],
): Promise<string | undefined> {
  if (connections.length === 0) return undefined;
  const cluster = clusterOf({ ...scenarioOf(world), workloads });
  const input = join(dir, `${name}.jsonl`);
  writeFileSync(input, render(cluster, eventsOf(cluster, connections), "hubble-probe"));
  const db = join(dir, `${name}.db`);
  const ingest = await runInProcess(["ingest", "--db", db, input]);
  if (ingest.code !== 0) throw new Error(`ingest of the ${name} probes failed: ${ingest.stderr}`);
  return db;
}

export async function buildProbes(world: World, dir: string): Promise<Probes> {
  const scenario = scenarioOf(world);
  const forwarded = scenario.connections.filter((c) => c.verdict !== "dropped");
  // Only what flowpol saw: workloads in some connection, newcomers in their namespaces.
  const seen = new Set(
    scenario.connections.flatMap((c) => [c.from, c.to]).flatMap((p) => ("workload" in p ? [p.workload] : [])),
  );
  const known = scenario.workloads.filter((w) => seen.has(workloadKey(w)));
  const apps = known.filter((w) => world.apps.some((a) => a.namespace === w.namespace));
  const portsInto = new Map<string, Set<string>>();
  for (const c of scenario.connections) {
    if (!("workload" in c.to)) continue;
    const set = portsInto.get(c.to.workload) ?? new Set<string>();
    set.add(`${c.protocol}/${c.port}`);
    portsInto.set(c.to.workload, set);
  }
  const ports = (w: SimWorkload) =>
    [...(portsInto.get(workloadKey(w)) ?? [])].map((pp) => pp.split("/") as ["TCP" | "UDP", string]);

  // Pods created later: a newcomer per namespace, and pods that carry only an app's shared labels.
  const appNamespaces = [...new Set(apps.map((w) => w.namespace))];
  const newcomers: SimWorkload[] = appNamespaces.map((namespace) => ({
    namespace,
    name: "newcomer",
    kind: "Deployment",
    labels: { app: "newcomer" },
    replicas: 1,
    serviceAccount: "newcomer",
  }));
  const impostors: SimWorkload[] = [];
  const imitates = new Map<string, SimWorkload>();
  for (const w of apps) {
    const shared = Object.fromEntries(Object.entries(w.labels).filter(([k]) => SHARED_KEYS.includes(k)));
    if (Object.keys(shared).length === 0) continue;
    for (const [suffix, labels] of [
      ["shared", shared],
      ["other", { ...shared, [identityKey(w)]: "impostor" }],
    ] as const) {
      const name = `${w.name}-${suffix}`;
      if (scenario.workloads.some((x) => x.namespace === w.namespace && x.name === name)) continue;
      const impostor: SimWorkload = {
        namespace: w.namespace,
        name,
        kind: "Deployment",
        labels,
        replicas: 1,
        serviceAccount: name,
      };
      impostors.push(impostor);
      imitates.set(workloadKey(impostor), w);
    }
  }
  const observed = new Set(forwarded.map((c) => JSON.stringify([c.from, c.to, c.protocol, c.port])));
  const unobserved: SimConnection[] = [];
  const probed = [...known, ...newcomers, ...impostors];
  for (const src of probed) {
    for (const dst of probed) {
      if (src === dst) continue;
      const into = newcomers.includes(dst)
        ? [["TCP", "8080"] as ["TCP", string]]
        : ports(imitates.get(workloadKey(dst)) ?? dst);
      for (const [protocol, port] of into) {
        const c = conn(wl(src), wl(dst), protocol, Number(port));
        if (!observed.has(JSON.stringify([c.from, c.to, c.protocol, c.port]))) unobserved.push(c);
      }
    }
  }

  // Addresses nobody observed.
  const addresses: SimConnection[] = [];
  const nodeIps = scenario.nodes.map((n) => n.ip);
  for (const w of apps) {
    addresses.push(conn(wl(w), { external: { ip: UNSEEN_EXTERNAL, names: [] } }, "TCP", 443));
    for (const ip of [...nodeIps, UNSEEN_NODE]) addresses.push(conn(wl(w), { entity: "remote-node", ip }, "UDP", 53));
    addresses.push(conn(wl(w), { entity: "host", ip: NODE_LOCAL_DNS }, "TCP", 8080));
    for (const [protocol, port] of ports(w)) {
      addresses.push(conn({ entity: "remote-node", ip: UNSEEN_NODE }, wl(w), protocol, Number(port)));
      addresses.push(conn({ external: { ip: UNSEEN_EXTERNAL, names: [] } }, wl(w), protocol, Number(port)));
    }
  }

  // Clones: the same labels as an observed app workload, in its place in every forwarded connection.
  const cloneOf = new Map<string, string>();
  const clones: SimWorkload[] = [];
  const cloneFor = new Map<string, SimWorkload>();
  for (const w of apps) {
    const clone: SimWorkload = { ...w, name: `${w.name}-clone`, kind: "Deployment", replicas: 1 };
    if (scenario.workloads.some((x) => x.namespace === clone.namespace && x.name === clone.name)) continue;
    clones.push(clone);
    cloneFor.set(workloadKey(w), clone);
    cloneOf.set(`${w.namespace}/${clone.name}[Deployment]`, `${w.namespace}/${w.name}[${w.kind}]`);
  }
  const swap = (p: SimPeer) => ("workload" in p && cloneFor.has(p.workload) ? wl(cloneFor.get(p.workload)!) : p);
  const cloned = forwarded
    .map((c) => ({ ...c, from: swap(c.from), to: swap(c.to) }))
    .filter((c, i) => c.from !== forwarded[i]!.from || c.to !== forwarded[i]!.to);

  const all = scenario.workloads;
  return {
    unobserved: await store(dir, "probe-unobserved", [...all, ...newcomers, ...impostors], world, unobserved),
    addresses: await store(dir, "probe-addresses", all, world, addresses),
    clones: await store(dir, "probe-clones", [...all, ...clones], world, cloned),
    cloneOf,
  };
}

function identityKey(w: SimWorkload): string {
  return ["app", "app.kubernetes.io/name", "k8s-app"].find((k) => k in w.labels) ?? "app";
}
