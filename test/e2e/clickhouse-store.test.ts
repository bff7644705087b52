import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadCatalog } from "../../src/cli/load-graph.js";
import { ingestInputs } from "../../src/collect/ingest.js";
import { buildGraph, defaultScope, type GraphInput } from "../../src/graph/index.js";
import { graphJson } from "../../src/render/index.js";
import { Connection } from "../../src/store/clickhouse/connection.js";
import { literal, literalList } from "../../src/store/clickhouse/sql.js";
import { ClickHouseStore } from "../../src/store/clickhouse/store.js";
import { parseClickHouseUrl } from "../../src/store/clickhouse/url.js";
import { openStore } from "../../src/store/db.js";
import { type Lease, LeaseHeld } from "../../src/store/lease.js";
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
import { REPO_ROOT, SHARED_HUBBLE, tempDir } from "../helpers/paths.js";

const HUBBLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
const CALICO = join(REPO_ROOT, "samples/online-boutique/calico-flows.log.gz");
const SMALL = join(SHARED_HUBBLE, "hubble-otel__basic-sample-10-flows.jsonl");

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
      // SQLite's stats name the clusters once the cluster dimension lands there (the store interface of issue 17).
      const { clusters, ...stats } = await store.stats();
      expect(clusters).toEqual(["default"]);
      return outputs(
        "clusters" in JSON.parse(sqlite.stats) ? { ...stats, clusters } : stats,
        await store.readGraphInput(defaultScope()),
        await store.readObserved(),
      );
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
      const snap = await store.readSnapshot();
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

/** A snapshot's edges with their endpoints named, in name order: ids differ between stores. */
function namedEdges(s: ReturnType<typeof readStoreSnapshot>): string {
  const name = new Map(s.endpoints.map((e) => [e.id, `${e.type}|${e.namespace}|${e.kind}|${e.name}|${e.ip}`]));
  return JSON.stringify(
    s.edges.map((e) => JSON.stringify({ ...e, src: name.get(e.src), dst: name.get(e.dst) })).sort(),
  );
}

describe.skipIf(!CLICKHOUSE_AVAILABLE || !existsSync(SMALL))("ClickHouse store: exactly once", () => {
  let ch: ClickHouseCluster;
  const tmp = tempDir();
  let expected: string;

  beforeAll(async () => {
    ch = await startClickHouse(2);
    const db = openStore(join(tmp.dir, "small.db"));
    try {
      await ingestInputs({ db, inputs: [SMALL], workers: 0 });
      expected = namedEdges(readStoreSnapshot(db));
    } finally {
      db.close();
    }
  });
  afterAll(async () => {
    await ch?.stop();
    tmp.cleanup();
  }, 120_000);

  const edgesOf = async (url: string) => {
    const store = await ClickHouseStore.open(url, { readonly: true });
    try {
      const snap = await store.readSnapshot();
      const stats = await store.stats();
      return { edges: namedEdges(snap), flows: stats.flows };
    } finally {
      await store.close();
    }
  };

  it("hostile strings reach the server as the very same strings", async () => {
    const conn = new Connection(parseClickHouseUrl(ch.dbUrl("default"), {}));
    try {
      const hostile = [
        "'; DROP TABLE edges; --",
        "\\",
        "\\'",
        "a\\x00b",
        "\u0000\u0001\u001f\u007f",
        "line\nbreak\r\ttab",
        '`backquote` "double"',
        "\u001b[31mred",
        "é 😀 \u2028",
        "?{param} {x:String}",
      ];
      for (const value of hostile) {
        const rows = await conn.query<{ v: string }>(`SELECT ${literal(value)} AS v`);
        expect(rows).toEqual([{ v: value }]);
      }
      const rows = await conn.query<{ n: number }>(
        `SELECT count() AS n FROM system.one WHERE 'x' IN ${literalList(hostile)}`,
      );
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await conn.close();
    }
  });

  it("of two runs claiming the same input at once, exactly one gets it", async () => {
    const url = ch.dbUrl("leases");
    const stores = await Promise.all([ClickHouseStore.open(url), ClickHouseStore.open(url)]);
    try {
      for (let round = 0; round < 3; round++) {
        const results = await Promise.allSettled(
          stores.map((s) => s.acquireLeases([`input:${round}`], "the input", "wait")),
        );
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
        expect(refused.reason).toBeInstanceOf(LeaseHeld);
        expect(String(refused.reason.message)).toMatch(/being stored by another flowpol run \(process \d+/);
        const won = results.findIndex((r) => r.status === "fulfilled");
        await stores[won]?.releaseLease((results[won] as PromiseFulfilledResult<Lease>).value);
      }
      // Released: the next run takes it.
      const again = await stores[0]?.acquireLeases(["input:0"], "the input", "wait");
      expect(again?.keys).toEqual(["input:0"]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("re-ingesting and retried inserts add nothing", async () => {
    const url = ch.dbUrl("again");
    const store = await ClickHouseStore.open(url);
    try {
      expect(await ingestFileIntoClickHouse(store, SMALL, { linesPerBatch: 3 })).toBe("ingested");
      // Every insert sent twice, as a client retrying after a lost answer does.
      const insert = Connection.prototype.insert;
      const spy = vi.spyOn(Connection.prototype, "insert").mockImplementation(async function (
        this: Connection,
        table,
        rows,
      ) {
        await insert.call(this, table, rows);
        await insert.call(this, table, rows);
      });
      expect(await ingestFileIntoClickHouse(store, SMALL, { linesPerBatch: 3 })).toBe("already-ingested");
      spy.mockRestore();
    } finally {
      await store.close();
    }
    const after = await edgesOf(url);
    expect(after.edges).toBe(expected);
    expect(after.flows).toBe(10);
  });

  it("a run that fails at any insert, then runs again, counts every flow once", async () => {
    // Count the inserts of one clean run, then fail a run at each of them in turn.
    const insert = Connection.prototype.insert;
    let total = 0;
    const counting = vi.spyOn(Connection.prototype, "insert").mockImplementation(async function (
      this: Connection,
      table,
      rows,
    ) {
      total++;
      await insert.call(this, table, rows);
    });
    const clean = await ClickHouseStore.open(ch.dbUrl("clean"));
    total = 0;
    await ingestFileIntoClickHouse(clean, SMALL, { linesPerBatch: 5 });
    await clean.close();
    counting.mockRestore();
    expect(total).toBeGreaterThan(8);

    const url = ch.dbUrl("fail_at");
    await (await ClickHouseStore.open(url)).close();
    const tables = [
      "endpoints",
      "namespaces",
      "pods",
      "edges",
      "dns_names",
      "services",
      "gaps",
      "bad_lines",
      "batches",
      "ingests",
      "leases",
    ];
    // Every insert point under `npm run torture`; every third (and the last) otherwise.
    const points = [...Array(total).keys()]
      .map((i) => i + 1)
      .filter((k) => process.env.FLOWPOL_TORTURE || k % 3 === 1 || k === total);
    for (const k of points) {
      for (const t of tables)
        await fetch(`${ch.nodes[0]?.url}/?query=${encodeURIComponent(`TRUNCATE TABLE fail_at.${t}`)}`, {
          method: "POST",
        });
      const first = await ClickHouseStore.open(url);
      let n = 0;
      const failing = vi.spyOn(Connection.prototype, "insert").mockImplementation(async function (
        this: Connection,
        table,
        rows,
      ) {
        if (++n === k) throw new Error(`injected failure at insert ${k} (${table})`);
        await insert.call(this, table, rows);
      });
      // Every failure stops the run, but the lease's release: it never fails a run that stored everything.
      await ingestFileIntoClickHouse(first, SMALL, { linesPerBatch: 5 }).then(
        () => expect(k).toBe(total),
        (err: Error) => expect(err.message).toMatch(/injected failure/),
      );
      await first.close();
      failing.mockRestore();
      // A release that failed leaves the lease to this (live) process: only another process may take it over.
      if (k < total) {
        const second = await ClickHouseStore.open(url);
        await ingestFileIntoClickHouse(second, SMALL, { linesPerBatch: 5 });
        await second.close();
      }
      const after = await edgesOf(url);
      expect({ k, ...after }).toEqual({ k, edges: expected, flows: 10 });
    }
  }, 600_000);
});

if (!CLICKHOUSE_AVAILABLE) console.warn(CLICKHOUSE_SKIP_MESSAGE);
