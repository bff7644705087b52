import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import {
  CLICKHOUSE_AVAILABLE,
  CLICKHOUSE_SKIP_MESSAGE,
  type ClickHouseCluster,
  startClickHouse,
} from "../helpers/clickhouse-server.js";
import { createOnEveryShard } from "../helpers/clickhouse-shards.js";
import { CLI, REPO_ROOT, SHARED_HUBBLE, tempDir } from "../helpers/paths.js";
import { type ReplayServer, spawnCli, startHubbleReplayServer } from "../helpers/processes.js";

const HUBBLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
const CALICO = join(REPO_ROOT, "samples/online-boutique/calico-flows.log.gz");
const REPLAYED = join(SHARED_HUBBLE, "hubble-otel__basic-sample-400-tcp-flows.jsonl");

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return out;
}

function ok(args: string[]): string {
  const r = runCli(args);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** What users read from a store: stats, the graph as JSON, the generated policy tree. */
function outputs(db: string, out: string): { stats: string; graph: string; policies: Record<string, string> } {
  const stats = ok(["stats", "-o", "json", "--db", db]);
  const graph = ok(["graph", "-o", "json", "--db", db]);
  ok(["generate", "--db", db, "--out", out, "--accept-denied"]);
  return { stats, graph, policies: tree(out) };
}

describe.skipIf(!CLICKHOUSE_AVAILABLE)("flowpol with --db clickhouse:// on a 2-shard cluster", () => {
  let ch: ClickHouseCluster;
  let replay: ReplayServer;
  const tmp = tempDir();

  beforeAll(async () => {
    ch = await startClickHouse(2);
    replay = await startHubbleReplayServer(["--from", REPLAYED]);
  });
  afterAll(async () => {
    await replay?.stop();
    await ch?.stop();
    tmp.cleanup();
  }, 120_000);

  it("two ingests and a collector writing through different shards equal one SQLite store, byte for byte", async () => {
    const urls = [0, 1].map((node) => ch.dbUrl("cli", { node, cluster: true }));
    await createOnEveryShard(urls);
    const a = spawnCli(["ingest", "--db", urls[0] as string, HUBBLE]);
    const b = spawnCli(["ingest", "--db", urls[1] as string, CALICO]);
    expect([await a.exited, await b.exited], `${a.stderr()}${b.stderr()}`).toEqual([0, 0]);
    ok(["collect", "hubble", "--server", `127.0.0.1:${replay.port}`, "--db", urls[1] as string]);

    const sqlite = join(tmp.dir, "all.db");
    ok(["ingest", "--db", sqlite, HUBBLE, CALICO]);
    ok(["collect", "hubble", "--server", `127.0.0.1:${replay.port}`, "--db", sqlite]);

    const fromSqlite = outputs(sqlite, join(tmp.dir, "sqlite-policies"));
    const fromClickHouse = outputs(urls[0] as string, join(tmp.dir, "clickhouse-policies"));
    expect(Object.keys(fromSqlite.policies).length).toBeGreaterThan(0);
    expect(fromClickHouse.stats).toBe(fromSqlite.stats);
    expect(fromClickHouse.graph).toBe(fromSqlite.graph);
    expect(fromClickHouse.policies).toEqual(fromSqlite.policies);

    // Again: the files are already ingested and the collector resumes after its cursor.
    expect(ok(["ingest", "--db", urls[1] as string, HUBBLE, CALICO])).toMatch(/already ingested/);
    ok(["collect", "hubble", "--server", `127.0.0.1:${replay.port}`, "--db", urls[0] as string]);
    // The second collection is a session of its own in the ingest log; it stored no flow.
    const again = JSON.parse(ok(["stats", "-o", "json", "--db", urls[0] as string]));
    expect({ ...again, ingests: 0 }).toEqual({ ...JSON.parse(fromSqlite.stats), ingests: 0 });
    expect(again.ingests).toBe(JSON.parse(fromSqlite.stats).ingests + 1);
  });

  it("an ingest killed with SIGKILL, then run again, counts nothing twice", async () => {
    const file = join(tmp.dir, "flows.jsonl");
    ok(["simulate", "--flows", "30000", "--out", file]);
    const url = ch.dbUrl("killed", { node: 1, cluster: true });
    await createOnEveryShard([0, 1].map((node) => ch.dbUrl("killed", { node, cluster: true })));
    const committed = async () => {
      const sql = "SELECT count() FROM killed.batches";
      const res = await fetch(`${ch.nodes[0]?.url}/?query=${encodeURIComponent(sql)}`).catch(() => undefined);
      return res?.ok ? Number((await res.text()).trim()) : 0;
    };
    const child = spawn(process.execPath, [CLI, "ingest", "--db", url, "--workers", "1", file], { stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 60_000;
    while ((await committed()) === 0 && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await exited;

    // Killed before the end: the re-run resumes; killed after it: nothing is added.
    expect(ok(["ingest", "--db", url, file])).toMatch(/resumed|already ingested|ingested/);
    const fresh = join(tmp.dir, "fresh.db");
    ok(["ingest", "--db", fresh, file]);
    const flows = (db: string) => JSON.parse(ok(["stats", "-o", "json", "--db", db])).flows;
    expect(flows(url)).toBe(flows(fresh));
    expect(ok(["graph", "-o", "json", "--db", url])).toBe(ok(["graph", "-o", "json", "--db", fresh]));
  });
});

if (!CLICKHOUSE_AVAILABLE) console.warn(CLICKHOUSE_SKIP_MESSAGE);
