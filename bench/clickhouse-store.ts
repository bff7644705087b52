import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGraph, defaultScope, parseCatalog } from "../src/graph/index.js";
import { ingestInputs } from "../src/ingest/files.js";
import { type Batch, DEFAULT_CLUSTER, type EndpointRef } from "../src/model/batch.js";
import { writeSimulation } from "../src/samples/write-simulation.js";
import { openFlowStore } from "../src/store/open.js";
import type { FlowStore } from "../src/store/store.js";
import { synthesizeSound } from "../src/synth/index.js";
import { CLICKHOUSE_AVAILABLE, startClickHouse } from "../test/helpers/clickhouse-server.js";
import { createOnEveryShard } from "../test/helpers/clickhouse-shards.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * The ClickHouse store against SQLite in the same run, on a 2-shard cluster of local servers:
 * - `flowpol ingest` of 1,000,000 simulated Hubble flows (8 MiB chunks folded into partial edges,
 *   4 chunks per commit), target >= 0.8x SQLite's flows/s on one machine;
 * - `generate` (graph, observed connections, synthesis) from a store of 100,000 edges, target
 *   within 1.5x of SQLite.
 * Both stores parse on the main thread (workers: 0), so the ratio is the store's cost.
 */
/** The built-in shared-services catalog, from the repository (the bench runs from dist-bench/bench/). */
const CATALOG = fileURLToPath(new URL("../../templates/shared-services.yaml", import.meta.url));

export async function clickhouseBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  if (!CLICKHOUSE_AVAILABLE) {
    ctx.log("clickhouse-server is absent: skipped");
    return [];
  }
  const ch = await startClickHouse(2);
  try {
    return [...(await ingestRows(ctx, ch)), ...(await generateRows(ctx, ch))];
  } finally {
    await ch.stop();
  }
}

type Cluster = Awaited<ReturnType<typeof startClickHouse>>;

async function ingestRows(ctx: BenchContext, ch: Cluster): Promise<BenchRow[]> {
  const flows = Math.round(1_000_000 * ctx.scale);
  const file = join(ctx.dir, "ch-hubble.jsonl");
  ctx.log(`simulating ${flows} Hubble flows...`);
  await writeSimulation({ scenario: "online-boutique", flows, format: "hubble", seed: 42 }, file, process.stdout);

  const timed = async (db: string) => {
    const store = await openFlowStore(db);
    const start = performance.now();
    const [result] = await ingestInputs({ store, inputs: [file], workers: 0 });
    const seconds = (performance.now() - start) / 1000;
    await store.close();
    return { seconds, stored: result?.counts.flows ?? 0 };
  };
  const sqlite = await timed(join(ctx.dir, "ch-baseline.db"));
  const urls = [0, 1].map((node) => ch.dbUrl("bench", { node, cluster: true }));
  await createOnEveryShard(urls);
  const clickhouse = await timed(urls[0] as string);
  const [sqliteSeconds, chSeconds, stored] = [sqlite.seconds, clickhouse.seconds, clickhouse.stored];
  const ratio = sqliteSeconds / chSeconds;
  ctx.log(`sqlite ${sqliteSeconds.toFixed(1)} s, clickhouse ${chSeconds.toFixed(1)} s (${stored} flows)`);
  return [
    {
      name: `ingest ${flows} flows into a 2-shard ClickHouse cluster`,
      value: Math.round(flows / chSeconds),
      unit: "flows/s",
      baseline: Math.round(flows / sqliteSeconds),
      ratio: Number(ratio.toFixed(2)),
      target: ">= 0.8x SQLite",
      pass: ratio >= 0.8,
    },
  ];
}

async function generateRows(ctx: BenchContext, ch: Cluster): Promise<BenchRow[]> {
  const edges = Math.round(100_000 * ctx.scale);
  ctx.log(`a store of ${edges} edges in SQLite and in ClickHouse...`);
  const batch = syntheticBatch(edges);
  const urls = [0, 1].map((node) => ch.dbUrl("bench_generate", { node, cluster: true }));
  await createOnEveryShard(urls);
  const stores = [await openFlowStore(join(ctx.dir, "generate.db")), await openFlowStore(urls[0] as string)];
  for (const store of stores) {
    const lease = await store.acquireLeases(["bench-generate"], "bench", "");
    const row = { source_system: "hubble", kind: "file" as const, path: "bench", format: "hubble", head_hash: "" };
    const ingestId = await store.beginIngest({ row }, lease);
    const progress = { bytesDone: 1, linesDone: 1, contentHash: "bench" };
    await store.commitBatch({ ingestId, lease, batch, system: "hubble", progress });
    await store.finishIngest(ingestId, "complete");
    await store.releaseLease(lease);
  }
  const catalog = parseCatalog(readFileSync(CATALOG, "utf8"), CATALOG);
  const run = async (from: FlowStore) => {
    const start = performance.now();
    const graph = buildGraph(await from.readGraphInput(defaultScope(), DEFAULT_CLUSTER), {
      catalog,
      sharedMinNamespaces: 2,
    });
    const { tree } = synthesizeSound(
      graph,
      await from.readObserved({}, DEFAULT_CLUSTER),
      {
        flavor: "kubernetes",
        cidrPrefixV4: 32,
        cidrPrefixV6: 128,
        nodeCidrs: [],
        allowMetadata: false,
        allowAnyAddress: false,
      },
      { acceptDenied: true, minFlows: 1 },
    );
    return { files: JSON.stringify(tree.files), seconds: (performance.now() - start) / 1000 };
  };
  const [sqlite, clickhouse] = [await run(stores[0] as FlowStore), await run(stores[1] as FlowStore)];
  for (const store of stores) await store.close();
  const same = sqlite.files === clickhouse.files;
  ctx.log(
    `generate: sqlite ${sqlite.seconds.toFixed(2)} s, clickhouse ${clickhouse.seconds.toFixed(2)} s, same files: ${same}`,
  );
  const ratio = clickhouse.seconds / sqlite.seconds;
  return [
    {
      name: `generate from ${edges} edges in ClickHouse (same files as SQLite: ${same ? "yes" : "NO"})`,
      value: Number(clickhouse.seconds.toFixed(2)),
      unit: "s",
      baseline: Number(sqlite.seconds.toFixed(2)),
      ratio: Number(ratio.toFixed(2)),
      target: "<= 1.5x SQLite, same files",
      pass: ratio <= 1.5 && same,
    },
  ];
}

/** 50 namespaces of 100 workloads (one pod each), 256 external peers, `edges` random edges. */
function syntheticBatch(edges: number): Batch {
  let seed = 7;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const T = Date.UTC(2026, 0, 1);
  const span = { first: T, last: T, count: 1 };
  const workloads: EndpointRef[] = [];
  const batch: Batch = {
    flows: 0,
    replies: 0,
    skipped: 0,
    bad: 0,
    badLines: [],
    lost: [],
    endpoints: [],
    namespaces: [],
    pods: [],
    edges: [],
    dnsNames: [],
    services: [],
  };
  for (let n = 0; n < 50; n++) {
    const namespace = `ns-${String(n).padStart(2, "0")}`;
    batch.namespaces.push({
      cluster: DEFAULT_CLUSTER,
      name: namespace,
      labels: JSON.stringify({ "kubernetes.io/metadata.name": namespace }),
      first: T,
      last: T,
    });
    for (let w = 0; w < 100; w++) {
      const name = `wl-${String(w).padStart(3, "0")}`;
      const ref: EndpointRef = {
        cluster: DEFAULT_CLUSTER,
        type: "workload",
        namespace,
        kind: "Deployment",
        name,
        ip: "",
      };
      workloads.push(ref);
      batch.endpoints.push({ ref, ...span });
      const labels = JSON.stringify({ app: name, team: `team-${w % 7}`, tier: `tier-${w % 5}` });
      batch.pods.push({
        namespace,
        name: `${name}-7d4b8c9f5-abcde`,
        endpoint: ref,
        labels,
        serviceAccount: "",
        first: T,
        last: T,
      });
    }
  }
  const externals: EndpointRef[] = [];
  for (let x = 0; x < 256; x++) {
    const ref: EndpointRef = {
      cluster: DEFAULT_CLUSTER,
      type: "external",
      namespace: "",
      kind: "",
      name: "",
      ip: `203.0.113.${x}`,
    };
    externals.push(ref);
    batch.endpoints.push({ ref, ...span });
  }
  const seen = new Set<string>();
  const ports = [80, 443, 5432, 6379, 8080, 9090, 50051];
  while (batch.edges.length < edges) {
    const src = workloads[Math.floor(rand() * workloads.length)] as EndpointRef;
    const dst =
      rand() < 0.1
        ? (externals[Math.floor(rand() * 256)] as EndpointRef)
        : (workloads[Math.floor(rand() * workloads.length)] as EndpointRef);
    const port = rand() < 0.2 ? 8000 + Math.floor(rand() * 200) : (ports[Math.floor(rand() * ports.length)] as number);
    const protocol = rand() < 0.05 ? "UDP" : "TCP";
    const key = `${src.namespace}/${src.name}>${dst.namespace}/${dst.name}${dst.ip}:${protocol}/${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const count = 1 + Math.floor(rand() * 50);
    batch.flows += count;
    batch.edges.push({
      src,
      dst,
      protocol,
      port,
      verdict: "forwarded",
      system: "hubble",
      count,
      first: T,
      last: T,
      dropReason: "",
      policies: {},
      srcReported: 0,
      dstReported: 0,
    });
  }
  return batch;
}
