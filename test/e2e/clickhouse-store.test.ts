import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/cli/load-graph.js";
import { ingestInputs } from "../../src/collect/ingest.js";
import { buildGraph, defaultScope, type GraphInput } from "../../src/graph/index.js";
import { graphJson } from "../../src/render/index.js";
import { ClickHouseStore } from "../../src/store/clickhouse/store.js";
import { openStore } from "../../src/store/db.js";
import { readGraphInput } from "../../src/store/read-graph.js";
import { readObserved } from "../../src/store/read-observed.js";
import { readStoreSnapshot } from "../../src/store/read-report.js";
import { storeStats } from "../../src/store/stats.js";
import { synthesizeSound } from "../../src/synth/index.js";
import { createOnEveryShard, ingestFileIntoClickHouse } from "../helpers/clickhouse-ingest.js";
import {
  CLICKHOUSE_AVAILABLE,
  CLICKHOUSE_SKIP_MESSAGE,
  type ClickHouseCluster,
  startClickHouse,
} from "../helpers/clickhouse-server.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";

const HUBBLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
const CALICO = join(REPO_ROOT, "samples/online-boutique/calico-flows.log.gz");

/** What reaches the user from a store: stats, the graph as JSON, the generated policy files. */
function outputs(
  stats: unknown,
  input: GraphInput,
  observed: Parameters<typeof synthesizeSound>[1],
): { stats: string; graph: string; files: Array<[string, string]> } {
  const graph = buildGraph(input, { catalog: loadCatalog([]), sharedMinNamespaces: 2 });
  const { tree } = synthesizeSound(
    graph,
    observed,
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
  return {
    stats: JSON.stringify(stats, null, 2),
    graph: graphJson(graph),
    files: [...Object.entries(tree.files)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, JSON.stringify(v)]),
  };
}

describe.skipIf(!CLICKHOUSE_AVAILABLE)("ClickHouse store on a 2-shard cluster", () => {
  let ch: ClickHouseCluster;
  const tmp = tempDir();
  let sqlite: ReturnType<typeof outputs>;
  let snapshotSqlite: ReturnType<typeof readStoreSnapshot>;

  beforeAll(async () => {
    ch = await startClickHouse(2);
    const dbPath = join(tmp.dir, "all.db");
    const db = openStore(dbPath);
    try {
      const results = await ingestInputs({ db, inputs: [HUBBLE, CALICO], workers: 0 });
      expect(results.map((r) => r.outcome)).toEqual(["ingested", "ingested"]);
      sqlite = outputs(storeStats(db), readGraphInput(db, defaultScope()), readObserved(db));
      snapshotSqlite = readStoreSnapshot(db);
    } finally {
      db.close();
    }
  });
  afterAll(async () => {
    await ch?.stop();
    tmp.cleanup();
  });

  async function chOutputs(url: string) {
    const store = await ClickHouseStore.open(url, { mustExist: true, readonly: true });
    try {
      return outputs(await store.storeStats(), await store.readGraphInput(defaultScope()), await store.readObserved());
    } finally {
      await store.close();
    }
  }

  it("two writers through different shards give the outputs of one SQLite store, byte for byte", async () => {
    await createOnEveryShard([0, 1].map((node) => ch.dbUrl("flows", { node, cluster: true })));
    const a = await ClickHouseStore.open(ch.dbUrl("flows", { node: 0, cluster: true }));
    const b = await ClickHouseStore.open(ch.dbUrl("flows", { node: 1, cluster: true }));
    try {
      await Promise.all([ingestFileIntoClickHouse(a, HUBBLE), ingestFileIntoClickHouse(b, CALICO)]);
    } finally {
      await a.close();
      await b.close();
    }
    const out = await chOutputs(ch.dbUrl("flows", { node: 1, cluster: true }));
    expect(out.stats).toBe(sqlite.stats);
    expect(out.graph).toBe(sqlite.graph);
    expect(sqlite.files.length).toBeGreaterThan(0);
    expect(out.files).toEqual(sqlite.files);
    // Both shards hold part of the edges: the cluster did shard them.
    const local = await Promise.all(
      ch.nodes.map(async (n) => {
        const res = await fetch(`${n.url}/?query=${encodeURIComponent("SELECT count() FROM flows.edges_local")}`);
        return Number((await res.text()).trim());
      }),
    );
    expect(local.every((n) => n > 0)).toBe(true);
  });

  it("the report's snapshot matches SQLite's, endpoint for endpoint", async () => {
    const store = await ClickHouseStore.open(ch.dbUrl("flows", { node: 0, cluster: true }), { readonly: true });
    try {
      const snap = await store.readStoreSnapshot();
      const named = (s: ReturnType<typeof readStoreSnapshot>) => {
        const name = new Map(s.endpoints.map((e) => [e.id, `${e.type}|${e.namespace}|${e.kind}|${e.name}|${e.ip}`]));
        return {
          endpoints: s.endpoints.map(({ id: _, ...e }) => e),
          // Edges come in endpoint id order, and ids differ (insertion order in SQLite, identity order here).
          edges: s.edges
            .map((e) => ({ ...e, src: name.get(e.src), dst: name.get(e.dst) }))
            .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
          gaps: s.gaps,
          sources: s.sources,
          services: s.services.map((x) => ({ ...x, endpointId: name.get(x.endpointId) })),
        };
      };
      expect(named(snap)).toEqual(named(snapshotSqlite));
    } finally {
      await store.close();
    }
  });
});

if (!CLICKHOUSE_AVAILABLE) console.warn(CLICKHOUSE_SKIP_MESSAGE);
