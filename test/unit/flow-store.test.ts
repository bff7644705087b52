import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import { UsageError } from "../../src/errors.js";
import { DEFAULT_CLUSTER } from "../../src/model/batch.js";
import { type Flow, flowCluster } from "../../src/model/flow.js";
import { openStore } from "../../src/store/db.js";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { openFlowStore, redactUrl } from "../../src/store/open.js";
import { parseClusterFlag, resolveCluster } from "../../src/store/resolve-cluster.js";
import { Database } from "../../src/store/sqlite.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { FlowStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/paths.js";
import { CART, FRONTEND, flow, REDIS, REPORT } from "../helpers/shop-store.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function newDir(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}

/** A store written by an older flowpol: the schema of migrations 1..`version`, open for rows. */
function storeAtVersion(version: number): { path: string; old: Database } {
  const path = join(newDir(), "old.db");
  const old = new Database(path);
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) old.exec(m.sql);
  old.pragma(`user_version = ${version}`);
  return { path, old };
}

/** A store holding the shop's frontend -> cart flow once per cluster given (undefined: no --cluster). */
async function storeWith(clusters: Array<string | undefined>): Promise<FlowStore> {
  const store = await openFlowStore(join(newDir(), "flowpol.db"));
  for (const [i, cluster] of clusters.entries()) {
    const builder = new BatchBuilder(cluster);
    builder.addFlow(flow(FRONTEND, CART, "TCP", 7070));
    await store.storeWholeInput({
      row: { source_system: "hubble", kind: "file", path: `input-${i}`, format: "test", head_hash: `${i}` },
      startedAt: 0,
      batches: [builder.build()],
      system: "hubble",
      progress: { bytesDone: 1, linesDone: 1, contentHash: `${i}` },
    });
  }
  return store;
}

describe("openFlowStore: the --db value chooses the store", () => {
  it("opens a path as a SQLite store", async () => {
    const path = join(newDir(), "x.db");
    const store = await openFlowStore(path);
    expect(store).toBeInstanceOf(SqliteStore);
    expect(store.location).toBe(path);
    expect(await store.clusters()).toEqual([]);
    await store.close();
  });

  it.each([
    ["clickhouse://h:8123/bad-name"],
    ["clickhouses://user:secret@h:8443/flows?cluster=c;x"],
    ["CLICKHOUSE://h/flows?shards=2"],
  ])("takes %s for a ClickHouse store, refuses it as a usage error, and never shows a password", async (url) => {
    const err = await openFlowStore(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain("--db");
    expect((err as UsageError).message).not.toContain("secret");
  });

  it("refuses a URL of another kind instead of creating a file named after it", async () => {
    const err = await openFlowStore("postgres://u:pw@h/db").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toBe("--db postgres://u:***@h/db is a URL flowpol does not know");
  });

  it("redacts only the password of a URL", () => {
    expect(redactUrl("clickhouse://ann:pw@h:8123/db")).toBe("clickhouse://ann:***@h:8123/db");
    expect(redactUrl("clickhouse://h:8123/db")).toBe("clickhouse://h:8123/db");
  });

  it("refuses a missing store when reading, naming how to create one", async () => {
    await expect(openFlowStore(join(newDir(), "none.db"), { mustExist: true, readonly: true })).rejects.toThrow(
      /no flowpol store at/,
    );
  });
});

describe("clusters", () => {
  it.each(["prod", "prod-eu-1", "a", "x".repeat(63)])("takes --cluster %s", (name) => {
    expect(parseClusterFlag(name)).toBe(name);
  });

  it.each(["", "Prod", "prod_eu", "-prod", "prod-", "a.b", "x".repeat(64), "../etc", "prod eu"])(
    "refuses --cluster %j as a usage error naming the flag",
    (name) => {
      expect(() => parseClusterFlag(name)).toThrow(UsageError);
      expect(() => parseClusterFlag(name)).toThrow(/--cluster/);
    },
  );

  it("keeps flows without a cluster name in the default cluster, and --cluster's in theirs", async () => {
    const store = await storeWith([undefined, "east", "west"]);
    expect(await store.clusters()).toEqual(["default", "east", "west"]);
    const east = await store.readObserved({}, "east");
    expect(east.edges.map((e) => [e.src.kind, e.dst.kind, e.port])).toEqual([["workload", "workload", 7070]]);
    expect((await store.stats("east")).edges).toBe(1);
    expect((await store.stats(undefined)).edges).toBe(3);
    expect((await store.stats(undefined)).clusters).toEqual(["default", "east", "west"]);
    await store.close();
  });

  it("reads the only cluster without --cluster, and refuses a store of several, listing them", async () => {
    const one = await storeWith(["east"]);
    expect(await resolveCluster(one, undefined)).toBe("east");
    await one.close();
    const empty = await storeWith([]);
    expect(await resolveCluster(empty, undefined)).toBe(DEFAULT_CLUSTER);
    await empty.close();
    const two = await storeWith(["east", "west"]);
    await expect(resolveCluster(two, undefined)).rejects.toThrow(/2 clusters \(east, west\)/);
    expect(await resolveCluster(two, "west")).toBe("west");
    await expect(resolveCluster(two, "north")).rejects.toThrow(/no flows of cluster north; it holds: east, west/);
    await two.close();
  });

  it("stores a flow under the cluster its record names: the observing end's", () => {
    const base: Flow = flow(FRONTEND, CART, "TCP", 7070);
    const east = { ...base.source, cluster: "east" };
    const west = { ...base.destination, cluster: "west" };
    expect(flowCluster({ ...base, source: east, destination: west, direction: "egress" })).toBe("east");
    expect(flowCluster({ ...base, source: east, destination: west, direction: "ingress" })).toBe("west");
    expect(flowCluster({ ...base, destination: west, direction: "egress" })).toBe("west");
    expect(flowCluster({ ...base, source: east, cluster: "calico-one" })).toBe("calico-one");
    expect(flowCluster(base)).toBeUndefined();
  });

  it("migrates a store written before clusters: every row in the default cluster, references intact", () => {
    const { path, old } = storeAtVersion(4);
    old.exec(`
      INSERT INTO endpoints (id, type, namespace, kind, name, ip, first_seen, last_seen, flows)
        VALUES (1, 'workload', 'shop', 'Deployment', 'frontend', '', 1, 2, 3), (2, 'workload', 'shop', 'Deployment', 'cart', '', 1, 2, 3);
      INSERT INTO namespaces (name, labels, first_seen, last_seen) VALUES ('shop', '{}', 1, 2);
      INSERT INTO pods (namespace, name, endpoint_id, labels, first_seen, last_seen) VALUES ('shop', 'cart-1', 2, '{"app":"cart"}', 1, 2);
      INSERT INTO edges (src_id, dst_id, protocol, port, verdict, source_system, count, first_seen, last_seen)
        VALUES (1, 2, 'TCP', 7070, 'forwarded', 'hubble', 3, 1, 2);`);
    old.close();
    const db = openStore(path);
    try {
      expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.at(-1)?.version);
      expect(db.prepare("SELECT DISTINCT cluster FROM endpoints").all()).toEqual([{ cluster: "default" }]);
      expect(db.prepare("SELECT cluster, namespace, name, endpoint_id FROM pods").all()).toEqual([
        { cluster: "default", namespace: "shop", name: "cart-1", endpoint_id: 2 },
      ]);
      expect(db.prepare("SELECT cluster, name FROM namespaces").all()).toEqual([{ cluster: "default", name: "shop" }]);
      expect(db.pragma("foreign_key_check")).toEqual([]);
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe("migration 8", () => {
  it("keeps one of each lost-events record stored twice, and every one without a time", () => {
    const { path, old } = storeAtVersion(7);
    old.exec(`
      INSERT INTO gaps (source_system, kind, node, detail, count, first_seen, last_seen) VALUES
        ('hubble', 'lost_events', 'n1', 'PERF_EVENT_RING_BUFFER', 7, 1000, 1000),
        ('hubble', 'lost_events', 'n1', 'PERF_EVENT_RING_BUFFER', 7, 1000, 1000),
        ('hubble', 'lost_events', 'n2', 'PERF_EVENT_RING_BUFFER', 7, 1000, 1000),
        ('hubble', 'lost_events', 'n1', 'PERF_EVENT_RING_BUFFER', 7, NULL, NULL),
        ('hubble', 'lost_events', 'n1', 'PERF_EVENT_RING_BUFFER', 7, NULL, NULL),
        ('hubble', 'node_unavailable', 'n1', 'gone', 1, 1000, 1000),
        ('hubble', 'node_unavailable', 'n1', 'gone', 1, 1000, 1000);`);
    old.close();
    const db = openStore(path);
    try {
      expect(db.prepare("SELECT kind, node, first_seen FROM gaps ORDER BY id").all()).toEqual([
        { kind: "lost_events", node: "n1", first_seen: 1000 },
        { kind: "lost_events", node: "n2", first_seen: 1000 },
        { kind: "lost_events", node: "n1", first_seen: null },
        { kind: "lost_events", node: "n1", first_seen: null },
        { kind: "node_unavailable", node: "n1", first_seen: 1000 },
        { kind: "node_unavailable", node: "n1", first_seen: 1000 },
      ]);
    } finally {
      db.close();
    }
  });
});

describe("a write that rolls back", () => {
  it("leaves no remembered row ids behind: a later write never updates the wrong endpoint", async () => {
    const store = SqliteStore.open(join(newDir(), "flowpol.db"));
    const whole = (i: number, batch: ReturnType<BatchBuilder["build"]>) =>
      store.storeWholeInput({
        row: { source_system: "hubble", kind: "file", path: `input-${i}`, format: "test", head_hash: `${i}` },
        startedAt: 0,
        batches: [batch],
        system: "hubble",
        progress: { bytesDone: 1, linesDone: 1, contentHash: `${i}` },
      });
    const broken = new BatchBuilder();
    broken.addFlow(flow(FRONTEND, CART, "TCP", 7070));
    const batch = broken.build();
    // The endpoints are written (and their ids remembered) before the edge fails its NOT NULL.
    (batch.edges[0] as { verdict: unknown }).verdict = null;
    await expect(whole(1, batch)).rejects.toThrow(/NOT NULL/);
    // The rolled-back ids are free again: another endpoint takes them.
    const other = new BatchBuilder();
    other.addFlow(flow(REDIS, REPORT, "TCP", 6379));
    await whole(2, other.build());
    const again = new BatchBuilder();
    again.addFlow(flow(FRONTEND, CART, "TCP", 7070));
    await whole(3, again.build());
    const edges = store.db
      .prepare(
        `SELECT s.name AS src, d.name AS dst, e.count FROM edges e
         JOIN endpoints s ON s.id = e.src_id JOIN endpoints d ON d.id = e.dst_id ORDER BY 1`,
      )
      .all();
    expect(edges).toEqual([
      { src: "frontend", dst: "cart", count: 1 },
      { src: "redis", dst: "report", count: 1 },
    ]);
    await store.close();
  });
});
