import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { CART, entity, FRONTEND, flow, world, writeStore } from "../helpers/shop-store.js";

/**
 * `flowpol graph` accounts for every edge record `flowpol stats` counts: shown (merged into a
 * connection) or hidden with the reason; and says which whole hours a window's counts are of.
 */

let tmp: { dir: string; cleanup: () => void };
let db: string;

beforeAll(() => {
  tmp = tempDir("flowpol-graph-records-");
  db = writeStore(tmp.dir, [
    flow(FRONTEND, CART, "TCP", 7070, { count: 40 }),
    flow(entity("host", "10.1.0.5"), world("93.184.216.34"), "TCP", 443, { count: 7, at: 20 }),
    flow(entity("remote-node", "10.1.0.6"), world("93.184.216.35"), "TCP", 80, { count: 2, at: 20 }),
  ]);
});
afterAll(() => tmp.cleanup());

describe("flowpol graph and flowpol stats", () => {
  it("say where every edge record went: stats counts 3, the graph shows 1 and names the 2 hidden", () => {
    expect(runCli(["stats", "--db", db]).stdout).toMatch(/^edges\s+3$/m);
    const r = runCli(["graph", "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("shop/Deployment/frontend");
    expect(r.stdout).toContain(
      "EDGE RECORDS\n3 edge records in the store (flowpol stats counts records: one per verdict, source and reported identity); 1 connections here merge 1 of them; 2 hidden:\n  2 no end is a workload in a namespace that gets policies",
    );
  });

  it("keeps JSON and the other formats clean and says it on stderr", () => {
    const r = runCli(["graph", "--db", db, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stderr).toContain("note: 2 no end is a workload in a namespace that gets policies");
  });

  it("says which whole hours a --since window counts, and what the window left out", () => {
    const r = runCli(["graph", "--db", db, "--since", "2026-01-05T10:10:00Z", "--until", "2026-01-05T10:15:00Z"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^shop\/Deployment\/frontend\s+shop\/Deployment\/cart\s+TCP\/7070\s+40\s/m);
    expect(r.stdout).toContain(
      "Counts are the window's: flows from 2026-01-05T10:00:00.000Z to 2026-01-05T10:59:59.999Z (--since/--until rounded out to whole hours",
    );
    const later = runCli(["graph", "--db", db, "--since", "2026-01-05T11:00:00Z", "--exclude-namespace", ""]);
    expect(later.stdout).toContain("  3 outside --since/--until");
    expect(later.stdout).toContain("flows from 2026-01-05T11:00:00.000Z to (end of the store)");
  });
});
