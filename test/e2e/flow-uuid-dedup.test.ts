import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../../src/store/sqlite.js";
import { runCli } from "../helpers/cli.js";
import { startCli } from "../helpers/cli-async.js";
import { tempDir } from "../helpers/paths.js";
import { startHubbleReplayServer } from "../helpers/processes.js";
import { storeContent } from "../helpers/store-tables.js";

/**
 * The same Hubble flows in several inputs (overlapping exports, rotated and copied logs, a file
 * and a collection) count once: the store drops a flow whose uuid and time it holds.
 */
const tmp = tempDir("flowpol-uuid-dedup-");
afterAll(() => tmp.cleanup());

let whole: string;
let first: string;
let second: string;
let clean: Record<string, string[]>;
let cleanFlows: number;
let cleanLost: number;

function stats(db: string): { flows: number; lostEvents: number } {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function flows(db: string): number {
  return stats(db).flows;
}

function duplicatesLogged(db: string): number {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (conn.prepare("SELECT sum(duplicates) AS n FROM ingests").get() as { n: number }).n;
  } finally {
    conn.close();
  }
}

beforeAll(() => {
  whole = join(tmp.dir, "whole.jsonl");
  expect(runCli(["simulate", "--flows", "12000", "--out", whole]).code).toBe(0);
  const lines = readFileSync(whole, "utf8").split("\n").filter(Boolean);
  // Two exports that overlap by a third: lines 1-8000 and 4001-12000.
  first = join(tmp.dir, "first.jsonl");
  second = join(tmp.dir, "second.jsonl");
  writeFileSync(first, `${lines.slice(0, 8000).join("\n")}\n`);
  writeFileSync(second, `${lines.slice(4000).join("\n")}\n`);
  const db = join(tmp.dir, "clean.db");
  expect(runCli(["ingest", "--db", db, whole]).code).toBe(0);
  clean = storeContent(db);
  cleanFlows = flows(db);
  cleanLost = stats(db).lostEvents;
  expect(cleanLost).toBeGreaterThan(0);
});

describe("de-duplication by flow uuid across inputs", () => {
  it("counts overlapping exports once, in either order, and says how many it dropped", () => {
    for (const order of [
      [first, second],
      [second, first],
    ]) {
      const db = join(tmp.dir, `order-${order[0] === first ? "a" : "b"}.db`);
      const r = runCli(["ingest", "--db", db, ...(order as string[])]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/flows already stored \(same uuid and time\) not counted again/);
      expect(flows(db)).toBe(cleanFlows);
      expect(storeContent(db)).toEqual(clean);
      expect(duplicatesLogged(db)).toBeGreaterThan(3000);
      // The lost-events records of the overlap are stored once too.
      expect(stats(db).lostEvents).toBe(cleanLost);
    }
  });

  it("counts once on the main thread too (--workers 0), within one input as well", () => {
    const twice = join(tmp.dir, "twice.jsonl");
    writeFileSync(twice, readFileSync(first, "utf8") + readFileSync(second, "utf8"));
    const db = join(tmp.dir, "twice.db");
    const r = runCli(["ingest", "--workers", "0", "--db", db, twice]);
    expect(r.code, r.stderr).toBe(0);
    expect(storeContent(db)).toEqual(clean);
  });

  it("counts once when two runs store overlapping inputs at the same time", async () => {
    const db = join(tmp.dir, "concurrent.db");
    const a = startCli(["ingest", "--db", db, first]);
    const b = startCli(["ingest", "--db", db, second]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(storeContent(db)).toEqual(clean);
  });

  it("counts a flow once when a file and a collection from Relay both carry it", async () => {
    const db = join(tmp.dir, "file-and-grpc.db");
    expect(runCli(["ingest", "--db", db, first]).code).toBe(0);
    const server = await startHubbleReplayServer(["--from", second]);
    try {
      const r = runCli(["collect", "hubble", "--server", `127.0.0.1:${server.port}`, "--db", db]);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      await server.stop();
    }
    expect(flows(db)).toBe(cleanFlows);
    expect(storeContent(db)).toEqual(clean);
  });
});
