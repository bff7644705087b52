import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import type { Flow } from "../../src/model/flow.js";
import { Connection } from "../../src/store/clickhouse/connection.js";
import { parseClickHouseUrl } from "../../src/store/clickhouse/url.js";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { openFlowStore } from "../../src/store/open.js";
import type { FlowStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import {
  CLICKHOUSE_AVAILABLE,
  CLICKHOUSE_SKIP_MESSAGE,
  type ClickHouseCluster,
  startClickHouse,
} from "../helpers/clickhouse-server.js";
import { createOnEveryShard } from "../helpers/clickhouse-shards.js";
import { tempDir } from "../helpers/paths.js";
import { CART, FRONTEND, flow, REDIS } from "../helpers/shop-store.js";

/**
 * `--since`/`--until` count the flows inside the window, by hour of the flows' own times: flows at
 * known times in several hours, windows that cut them, stats, graph, diff and report agreeing on a
 * window, repeats of stored flows taken out of their own hour, and a store from before the hours
 * (schema 6 in SQLite, 1 in ClickHouse) read honestly as it is and once migrated.
 *
 * Times are minutes from 2026-01-05T10:00Z (shop-store's `at`).
 */

const at = (minutes: number, f: Flow, uuid: string): Flow => ({ ...f, time: f.time + minutes * 60_000, uuid });
const toCart = (count: number) => flow(FRONTEND, CART, "TCP", 7070, { count });
const toRedis = (count: number) => flow(CART, REDIS, "TCP", 6379, { count });

/** frontend->cart: 5 at 09:10, 3 at 10:20, 2 at 11:40; cart->redis: 4 at 10:50, 1 at 12:30. */
const FIRST: Flow[] = [
  at(-50, toCart(5), "u1"),
  at(20, toCart(3), "u2"),
  at(100, toCart(2), "u3"),
  at(50, toRedis(4), "u4"),
  at(150, toRedis(1), "u5"),
];
/** A second input: frontend->cart 7 at 10:30, and (with repeats) u3 read again. */
const SECOND = (repeat: boolean): Flow[] => [at(30, toCart(7), "u6"), ...(repeat ? [at(100, toCart(2), "u3")] : [])];

async function store(db: string, inputs: Flow[][]): Promise<void> {
  const s: FlowStore = await openFlowStore(db);
  try {
    for (const [i, flows] of inputs.entries()) {
      const builder = new BatchBuilder();
      for (const f of flows) builder.addFlow(f);
      await s.storeWholeInput({
        row: { source_system: "hubble", kind: "file", path: `input-${i}`, format: "test", head_hash: `h${i}` },
        startedAt: 0,
        batches: [builder.build()],
        system: "hubble",
        progress: { bytesDone: 1, linesDone: flows.length, contentHash: `c${i}` },
      });
    }
  } finally {
    await s.close();
  }
}

function ok(args: string[]): string {
  const r = runCli(args);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const WINDOW = ["--since", "2026-01-05T10:30:00Z", "--until", "2026-01-05T11:15:00Z"];
const COUNTED = { since: "2026-01-05T10:00:00.000Z", until: "2026-01-05T11:59:59.999Z" };

interface Figures {
  stats: { flows: number; replies: number | null; edges: number; window?: unknown };
  graph: Record<string, number>;
  graphWindow: unknown;
  diffFlows: number;
  diffWindow: unknown;
}

/** What stats, graph and diff say of one store and window. */
function figures(db: string, policies: string, window: string[]): Figures {
  const stats = JSON.parse(ok(["stats", "--db", db, "-o", "json", ...window]));
  const graph = JSON.parse(ok(["graph", "--db", db, "-o", "json", ...window])) as {
    allowed: Array<{ from: string; to: string; count: number }>;
    window?: unknown;
  };
  const diff = JSON.parse(ok(["diff", "--db", db, "--policies", policies, "-o", "json", ...window])) as {
    totals: Record<string, { flows: number }>;
    window?: unknown;
  };
  return {
    stats,
    graph: Object.fromEntries(graph.allowed.map((e) => [`${e.from} -> ${e.to}`, e.count])),
    graphWindow: graph.window,
    diffFlows: Object.values(diff.totals).reduce((n, t) => n + t.flows, 0),
    diffWindow: diff.window,
  };
}

const CART_EDGE = "shop/Deployment/frontend -> shop/Deployment/cart";
const REDIS_EDGE = "shop/Deployment/cart -> shop/StatefulSet/redis";

let tmp: { dir: string; cleanup: () => void };
let policies: string;
beforeAll(() => {
  tmp = tempDir("flowpol-time-window-");
  policies = join(tmp.dir, "none.yaml");
  writeFileSync(policies, "");
});
afterAll(() => tmp.cleanup());

describe("--since/--until count the flows of the window's whole hours (SQLite)", () => {
  let db: string;
  beforeAll(async () => {
    db = join(tmp.dir, "window.db");
    await store(db, [FIRST, SECOND(true)]);
  });

  it("stats, graph, diff and report agree on a window, and say the whole hours they counted", () => {
    const f = figures(db, policies, WINDOW);
    // 10:00-11:59: frontend->cart 3 + 7 + 2 (u3 read twice counts once), cart->redis 4.
    expect(f.graph).toEqual({ [CART_EDGE]: 12, [REDIS_EDGE]: 4 });
    expect(f.stats).toMatchObject({ flows: 16, replies: null, edges: 2, window: { ...COUNTED, uncertainFlows: 0 } });
    expect(f.diffFlows).toBe(16);
    expect(f.diffWindow).toEqual({ ...COUNTED, uncertainFlows: 0 });
    expect(f.graphWindow).toEqual({ ...COUNTED, uncertainFlows: 0 });
    const table = ok(["graph", "--db", db, ...WINDOW]);
    expect(table).toContain(`Counts are the window's: flows from ${COUNTED.since} to ${COUNTED.until}`);
    const report = ok(["report", "--db", db, ...WINDOW]);
    expect(report).toContain(`Counts are the window's: flows from ${COUNTED.since} to ${COUNTED.until}`);
    expect(report).toMatch(/\| 12 \|/);
    expect(report).not.toMatch(/\| 19 \|/);
    const html = ok(["report", "--db", db, "-o", "html", ...WINDOW]);
    expect(html).toMatch(
      /Counts are the window(&#39;|&#x27;|')s: flows from 2026-01-05T10:00:00\.000Z to 2026-01-05T11:59:59\.999Z/,
    );
  });

  it("windows that cut the hours count only theirs; no window counts all time, as before", () => {
    expect(figures(db, policies, ["--since", "2026-01-05T12:00:00Z"]).graph).toEqual({ [REDIS_EDGE]: 1 });
    expect(figures(db, policies, ["--until", "2026-01-05T09:59:00Z"]).graph).toEqual({ [CART_EDGE]: 5 });
    const all = figures(db, policies, []);
    expect(all.graph).toEqual({ [CART_EDGE]: 17, [REDIS_EDGE]: 5 });
    expect(all.stats.window).toBeUndefined();
    expect(all.graphWindow).toBeUndefined();
    expect(all.diffWindow).toBeUndefined();
    expect(all.stats.flows).toBe(22);
    expect(all.diffFlows).toBe(22);
  });

  it("takes a repeated uuid out of its own hour", () => {
    const hours = new Database(db, { readonly: true })
      .prepare("SELECT hour, count FROM edge_hours ORDER BY edge_id, hour")
      .all() as Array<{ hour: number; count: number }>;
    const h = (iso: string) => Math.floor(Date.parse(iso) / 3_600_000);
    expect(hours).toEqual([
      { hour: h("2026-01-05T09:00:00Z"), count: 5 },
      { hour: h("2026-01-05T10:00:00Z"), count: 10 },
      { hour: h("2026-01-05T11:00:00Z"), count: 2 },
      { hour: h("2026-01-05T10:00:00Z"), count: 4 },
      { hour: h("2026-01-05T12:00:00Z"), count: 1 },
    ]);
  });
});

describe("a store from before the hours (schema 6)", () => {
  let db: string;
  beforeAll(async () => {
    db = join(tmp.dir, "old.db");
    await store(db, [FIRST]);
    // Schema 6 is today's without `edge_hours` (7) and the lost-events index (8).
    const raw = new Database(db);
    raw.exec("DROP TABLE edge_hours; DROP INDEX gaps_lost_events");
    raw.pragma("user_version = 6");
    raw.close();
  });

  const expectOld = () => {
    // Read as it is: every flow of an unknown hour, counted where its edge's span meets the window, and said.
    const f = figures(db, policies, WINDOW);
    expect(f.graph).toEqual({ [CART_EDGE]: 10, [REDIS_EDGE]: 5 });
    expect(f.stats).toMatchObject({ flows: 15, window: { ...COUNTED, uncertainFlows: 15 } });
    expect(f.diffFlows).toBe(15);
    expect(ok(["graph", "--db", db, ...WINDOW])).toContain(
      "15 of these flows have no known hour (stored before hourly counts",
    );
    const wide = figures(db, policies, ["--since", "2026-01-05T09:00:00Z", "--until", "2026-01-05T13:00:00Z"]);
    expect(wide.stats).toMatchObject({ flows: 15, window: { uncertainFlows: 0 } });
  };

  it("is read as it is, read-only, with the uncertain flows named", () => {
    expectOld();
    expect(new Database(db, { readonly: true }).pragma("user_version", { simple: true })).toBe(6);
  });

  it("migrates (7) to the same answers, and counts flows stored after it by their hour", async () => {
    await store(db, [[at(190, toCart(9), "u7")]]);
    expect(new Database(db, { readonly: true }).pragma("user_version", { simple: true })).toBe(
      MIGRATIONS.at(-1)?.version,
    );
    expect(figures(db, policies, ["--since", "2026-01-05T13:00:00Z"]).graph).toEqual({ [CART_EDGE]: 9 });
    expect(figures(db, policies, ["--since", "2026-01-05T13:00:00Z"]).stats).toMatchObject({
      window: { uncertainFlows: 0 },
    });
    const f = figures(db, policies, WINDOW);
    expect(f.graph).toEqual({ [CART_EDGE]: 10, [REDIS_EDGE]: 5 });
    expect(f.stats).toMatchObject({ flows: 15, window: { uncertainFlows: 15 } });
  });
});

describe.skipIf(!CLICKHOUSE_AVAILABLE)("the same windows on ClickHouse (a 2-shard cluster, and one server)", () => {
  let ch: ClickHouseCluster;
  beforeAll(async () => {
    ch = await startClickHouse(2);
  }, 120_000);
  afterAll(async () => {
    await ch?.stop();
  }, 120_000);

  it("gives SQLite's figures for every window, written through one shard and read through the other", async () => {
    const [writer, url] = [0, 1].map((node) => ch.dbUrl("window", { node, cluster: true })) as [string, string];
    await createOnEveryShard([writer, url]);
    const sqlite = join(tmp.dir, "same.db");
    // ClickHouse keeps no flow uuids (docs/clickhouse.md): the inputs have no repeat.
    await store(writer, [FIRST, SECOND(false)]);
    await store(sqlite, [FIRST, SECOND(false)]);
    for (const w of [WINDOW, ["--since", "2026-01-05T12:00:00Z"], ["--until", "2026-01-05T09:59:00Z"], []]) {
      const c = figures(url, policies, w);
      const s = figures(sqlite, policies, w);
      expect(c.graph).toEqual(s.graph);
      expect(c.diffFlows).toBe(s.diffFlows);
      expect(c.diffWindow).toEqual(s.diffWindow);
      expect(c.graphWindow).toEqual(s.graphWindow);
      const { ingests: _i, sources: _s, ...cs } = c.stats as unknown as Record<string, unknown>;
      const { ingests: _j, sources: _t, ...ss } = s.stats as unknown as Record<string, unknown>;
      expect(cs).toEqual(ss);
    }
    expect(figures(url, policies, WINDOW).graph).toEqual({ [CART_EDGE]: 12, [REDIS_EDGE]: 4 });
  });

  it("reads a version-1 store as it is, then upgrades it (2) to the same answers", async () => {
    const url = ch.dbUrl("old");
    await store(url, [FIRST]);
    // Version 1 is version 2 without `edge_hours`.
    const conn = new Connection(parseClickHouseUrl(url, {}));
    try {
      await conn.command("DROP TABLE `old`.edge_hours");
      await conn.command("DROP TABLE `old`.flowpol_schema");
      await conn.command(
        "CREATE TABLE `old`.flowpol_schema (version UInt32, description String, applied_at Int64) ENGINE = MergeTree ORDER BY version",
      );
      await conn.command("INSERT INTO `old`.flowpol_schema VALUES (1, 'v1', 0)");
    } finally {
      await conn.close();
    }
    const old = figures(url, policies, WINDOW);
    expect(old.graph).toEqual({ [CART_EDGE]: 10, [REDIS_EDGE]: 5 });
    expect(old.stats).toMatchObject({ flows: 15, window: { ...COUNTED, uncertainFlows: 15 } });
    await store(url, [[at(190, toCart(9), "u7")]]);
    const upgraded = figures(url, policies, WINDOW);
    expect(upgraded.graph).toEqual(old.graph);
    expect(upgraded.stats.window).toEqual(old.stats.window);
    expect(figures(url, policies, ["--since", "2026-01-05T13:00:00Z"]).graph).toEqual({ [CART_EDGE]: 9 });
  });
});

if (!CLICKHOUSE_AVAILABLE) console.warn(CLICKHOUSE_SKIP_MESSAGE);
