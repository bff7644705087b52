import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadCatalog } from "../../src/cli/load-graph.js";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import { buildGraph, defaultScope } from "../../src/graph/index.js";
import { ingestInputs } from "../../src/ingest/files.js";
import { DEFAULT_CLUSTER } from "../../src/model/batch.js";
import { graphJson } from "../../src/render/index.js";
import { Connection } from "../../src/store/clickhouse/connection.js";
import { TABLES } from "../../src/store/clickhouse/schema.js";
import { literal, literalList } from "../../src/store/clickhouse/sql.js";
import { parseClickHouseUrl } from "../../src/store/clickhouse/url.js";
import { type Lease, LeaseHeld } from "../../src/store/lease.js";
import { openFlowStore } from "../../src/store/open.js";
import type { StoreSnapshot } from "../../src/store/read-report.js";
import type { FlowStore } from "../../src/store/store.js";
import { synthesizeSound } from "../../src/synth/index.js";
import {
  CLICKHOUSE_AVAILABLE,
  CLICKHOUSE_SKIP_MESSAGE,
  type ClickHouseCluster,
  startClickHouse,
} from "../helpers/clickhouse-server.js";
import { createOnEveryShard } from "../helpers/clickhouse-shards.js";
import { REPO_ROOT, SHARED_HUBBLE, tempDir } from "../helpers/paths.js";

const HUBBLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
const CALICO = join(REPO_ROOT, "samples/online-boutique/calico-flows.log.gz");
const SMALL = join(SHARED_HUBBLE, "hubble-otel__basic-sample-10-flows.jsonl");

/** What reaches the user from a store: stats, the graph as JSON, the generated policy files. */
async function outputs(store: FlowStore): Promise<{ stats: string; graph: string; files: string }> {
  const graph = buildGraph(await store.readGraphInput(defaultScope(), DEFAULT_CLUSTER), {
    catalog: loadCatalog([]),
    sharedMinNamespaces: 2,
  });
  const { tree } = synthesizeSound(
    graph,
    await store.readObserved({}, DEFAULT_CLUSTER),
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
    stats: JSON.stringify(await store.stats(undefined), null, 2),
    graph: graphJson(graph),
    files: JSON.stringify(tree.files),
  };
}

/** A snapshot's edges with their endpoints named, in name order: endpoint ids differ between stores. */
function namedSnapshot(s: StoreSnapshot) {
  const name = new Map(s.endpoints.map((e) => [e.id, `${e.type}|${e.namespace}|${e.kind}|${e.name}|${e.ip}`]));
  return {
    endpoints: s.endpoints.map(({ id: _, ...e }) => e),
    edges: s.edges.map((e) => JSON.stringify({ ...e, src: name.get(e.src), dst: name.get(e.dst) })).sort(),
    gaps: s.gaps,
    sources: s.sources,
    services: s.services.map((x) => ({ ...x, endpointId: name.get(x.endpointId) })),
  };
}

async function withStore<T>(db: string, f: (store: FlowStore) => Promise<T>, readonly = false): Promise<T> {
  const store = await openFlowStore(db, readonly ? { mustExist: true, readonly: true } : {});
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

describe.skipIf(!CLICKHOUSE_AVAILABLE)("ClickHouse store on a 2-shard cluster", () => {
  let ch: ClickHouseCluster;
  const tmp = tempDir();
  const sqlitePath = join(tmp.dir, "all.db");

  beforeAll(async () => {
    ch = await startClickHouse(2);
    await withStore(sqlitePath, async (store) => {
      const results = await ingestInputs({ store, inputs: [HUBBLE, CALICO], workers: 0 });
      expect(results.map((r) => r.outcome)).toEqual(["ingested", "ingested"]);
    });
  });
  afterAll(async () => {
    await ch?.stop();
    tmp.cleanup();
  }, 120_000);

  it("two writers through different shards give the outputs of one SQLite store, byte for byte", async () => {
    const urls = [0, 1].map((node) => ch.dbUrl("flows", { node, cluster: true }));
    await createOnEveryShard(urls);
    const [a, b] = await Promise.all([
      withStore(urls[0] as string, (store) => ingestInputs({ store, inputs: [HUBBLE], workers: 0 })),
      withStore(urls[1] as string, (store) => ingestInputs({ store, inputs: [CALICO], workers: 0 })),
    ]);
    expect([a[0]?.outcome, b[0]?.outcome]).toEqual(["ingested", "ingested"]);
    const sqlite = await withStore(sqlitePath, outputs, true);
    const clickhouse = await withStore(urls[1] as string, outputs, true);
    expect(JSON.parse(sqlite.files)).not.toEqual({});
    expect(clickhouse.stats).toBe(sqlite.stats);
    expect(clickhouse.graph).toBe(sqlite.graph);
    expect(clickhouse.files).toBe(sqlite.files);
    // Both shards hold part of the edges: the cluster did shard them.
    const local = await Promise.all(
      ch.nodes.map(async (n) => {
        const res = await fetch(`${n.url}/?query=${encodeURIComponent("SELECT count() FROM flows.edges_local")}`);
        return Number((await res.text()).trim());
      }),
    );
    expect(local.every((n) => n > 0)).toBe(true);
  });

  it("a lost-events record read again counts once, as SQLite counts it; one without a time each time", async () => {
    const lost = (time?: number) => ({
      source: "PERF_EVENT_RING_BUFFER",
      lost: 7,
      node: "kind-worker",
      ...(time === undefined ? {} : { time }),
    });
    const input = (i: number, store: FlowStore) => {
      const builder = new BatchBuilder();
      for (const l of [lost(1_000), lost(1_000), lost(2_000), lost()]) builder.addLost(l);
      return store.storeWholeInput({
        row: { source_system: "hubble", kind: "file", path: `lost-${i}`, format: "test", head_hash: `lost-${i}` },
        startedAt: 0,
        batches: [builder.build()],
        system: "hubble",
        progress: { bytesDone: 1, linesDone: 1, contentHash: `lost-${i}` },
      });
    };
    const [url, other] = [0, 1].map((node) => ch.dbUrl("lost", { node, cluster: true })) as [string, string];
    await createOnEveryShard([url, other]);
    const figures = await Promise.all(
      [join(tmp.dir, "lost.db"), url].map((db) =>
        withStore(db, async (store) => {
          await input(1, store);
          await input(2, store);
          const stats = await store.stats(undefined);
          return { lostEvents: stats.lostEvents, gaps: (await store.readSnapshot(DEFAULT_CLUSTER)).gaps };
        }),
      ),
    );
    // 1,000 and 2,000 once each, the record without a time twice (once per input).
    expect(figures[0]?.lostEvents).toBe(7 * 4);
    expect(figures[1]).toEqual(figures[0]);
  });

  it("the report's snapshot matches SQLite's, endpoint for endpoint", async () => {
    const sqlite = await withStore(sqlitePath, (s) => s.readSnapshot(DEFAULT_CLUSTER), true);
    const clickhouse = await withStore(
      ch.dbUrl("flows", { node: 0, cluster: true }),
      (s) => s.readSnapshot(DEFAULT_CLUSTER),
      true,
    );
    expect(namedSnapshot(clickhouse)).toEqual(namedSnapshot(sqlite));
  });
});

describe.skipIf(!CLICKHOUSE_AVAILABLE || !existsSync(SMALL))("ClickHouse store: exactly once", () => {
  let ch: ClickHouseCluster;
  const tmp = tempDir();
  let expected: ReturnType<typeof namedSnapshot>;

  beforeAll(async () => {
    ch = await startClickHouse(2);
    expected = await withStore(join(tmp.dir, "small.db"), async (store) => {
      await ingestInputs({ store, inputs: [SMALL], workers: 0 });
      return namedSnapshot(await store.readSnapshot(DEFAULT_CLUSTER));
    });
  });
  afterAll(async () => {
    await ch?.stop();
    tmp.cleanup();
  }, 120_000);

  const contentOf = (url: string) =>
    withStore(
      url,
      async (store) => ({
        snapshot: namedSnapshot(await store.readSnapshot(DEFAULT_CLUSTER)),
        flows: (await store.stats(undefined)).flows,
      }),
      true,
    );
  const ingestSmall = (url: string) =>
    withStore(url, (store) => ingestInputs({ store, inputs: [SMALL], workers: 0, chunkBytes: 2048 }));

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
    const stores = await Promise.all([openFlowStore(url), openFlowStore(url)]);
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
      const again = await stores[0]?.acquireLeases(["input:0"], "the input", "wait");
      expect(again?.keys).toEqual(["input:0"]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("re-ingesting and retried inserts add nothing", async () => {
    const url = ch.dbUrl("again");
    expect((await ingestSmall(url))[0]?.outcome).toBe("ingested");
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
    try {
      expect((await ingestSmall(url))[0]?.outcome).toBe("already-ingested");
    } finally {
      spy.mockRestore();
    }
    expect(await contentOf(url)).toEqual({ snapshot: expected, flows: 10 });
  });

  it("a run that fails at any insert, then runs again, counts every flow once", async () => {
    const insert = Connection.prototype.insert;
    const url = ch.dbUrl("fail_at");
    await (await openFlowStore(url)).close();
    const truncate = async () => {
      for (const t of TABLES) {
        const sql = `TRUNCATE TABLE fail_at.${t.name}`;
        await fetch(`${ch.nodes[0]?.url}/?query=${encodeURIComponent(sql)}`, { method: "POST" });
      }
    };
    // Count the inserts of one clean run, then fail a run at each of them in turn.
    let total = 0;
    const counting = vi.spyOn(Connection.prototype, "insert").mockImplementation(async function (
      this: Connection,
      table,
      rows,
    ) {
      total++;
      await insert.call(this, table, rows);
    });
    await ingestSmall(url);
    counting.mockRestore();
    expect(total).toBeGreaterThan(8);
    // Every insert point under `npm run torture`; every third (and the last) otherwise.
    const points = [...Array(total).keys()]
      .map((i) => i + 1)
      .filter((k) => process.env.FLOWPOL_TORTURE || k % 3 === 1 || k === total);
    for (const k of points) {
      await truncate();
      let n = 0;
      const failing = vi.spyOn(Connection.prototype, "insert").mockImplementation(async function (
        this: Connection,
        table,
        rows,
      ) {
        if (++n === k) throw new Error(`injected failure at insert ${k} (${table})`);
        await insert.call(this, table, rows);
      });
      const first = await ingestSmall(url).finally(() => failing.mockRestore());
      // Every failure fails the run but the lease's release, which never fails a run that stored everything.
      expect({ k, outcome: first[0]?.outcome }).toEqual({ k, outcome: k === total ? "ingested" : "failed" });
      // A release that failed leaves the lease to this (live) process: only another process may take it over.
      if (k < total) expect({ k, again: (await ingestSmall(url))[0]?.outcome }).not.toEqual({ k, again: "failed" });
      // The ingest log keeps the failed run as its own row when it failed before its first commit (as SQLite does).
      const after = await contentOf(url);
      const runs = (x: typeof expected) => ({ ...x, sources: x.sources.map((src) => ({ ...src, ingests: 0 })) });
      expect({ k, flows: after.flows, snapshot: runs(after.snapshot) }).toEqual({
        k,
        flows: 10,
        snapshot: runs(expected),
      });
    }
  }, 600_000);
});

if (!CLICKHOUSE_AVAILABLE) console.warn(CLICKHOUSE_SKIP_MESSAGE);
