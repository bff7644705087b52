import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { simulatedLines } from "../helpers/simulated.js";

/**
 * Two clusters in one store: `east` named by the records (Hubble `cluster_name`), `west` by
 * `--cluster` at ingest, with its own namespace. Each cluster's graph and policies must be exactly
 * those of a store holding that cluster's flows alone.
 */
let tmp: ReturnType<typeof tempDir>;
let both: string;
let eastOnly: string;
let westOnly: string;

function ingest(db: string, file: string, ...flags: string[]): void {
  const r = runCli(["ingest", "--db", db, ...flags, file]);
  expect(r.code, r.stderr).toBe(0);
}

/** Every file under a folder, by relative path. */
function tree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files[relative(dir, path)] = readFileSync(path, "utf8");
    }
  }
  return files;
}

beforeAll(() => {
  tmp = tempDir();
  const lines = simulatedLines("hubble", 20);
  const east = join(tmp.dir, "east.jsonl");
  writeFileSync(
    east,
    `${lines.map((l) => l.replaceAll('"cluster_name":"default"', '"cluster_name":"east"')).join("\n")}\n`,
  );
  const west = join(tmp.dir, "west.jsonl");
  writeFileSync(
    west,
    `${simulatedLines("hubble", 10)
      .map((l) => l.replaceAll("online-boutique", "webshop"))
      .join("\n")}\n`,
  );
  both = join(tmp.dir, "both.db");
  ingest(both, east);
  ingest(both, west, "--cluster", "west");
  eastOnly = join(tmp.dir, "east.db");
  ingest(eastOnly, east);
  westOnly = join(tmp.dir, "west.db");
  ingest(westOnly, west, "--cluster", "west");
});
afterAll(() => tmp.cleanup());

describe("clusters in one store", () => {
  it("lists both clusters in stats, and a cluster's figures with --cluster", () => {
    const all = JSON.parse(runCli(["stats", "--db", both, "-o", "json"]).stdout);
    expect(all.clusters).toEqual(["east", "west"]);
    const east = JSON.parse(runCli(["stats", "--db", both, "-o", "json", "--cluster", "east"]).stdout);
    const alone = JSON.parse(runCli(["stats", "--db", eastOnly, "-o", "json"]).stdout);
    for (const key of ["edges", "allowedEdges", "deniedEdges", "workloads", "namespaces", "externalPeers"]) {
      expect(east[key], key).toBe(alone[key]);
    }
    expect(runCli(["stats", "--db", both]).stdout).toMatch(/^clusters +east, west$/m);
  });

  it("generate refuses a store of several clusters without --cluster, naming them", () => {
    const r = runCli(["generate", "--db", both, "--out", join(tmp.dir, "refused")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("holds flows of 2 clusters (east, west), and policies are per cluster");
    expect(r.stderr).toContain("--cluster east");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("generate --cluster east uses east's flows only: the same tree as a store of east alone", () => {
    const fromBoth = join(tmp.dir, "gen-both-east");
    const fromAlone = join(tmp.dir, "gen-east");
    const r = runCli(["generate", "--db", both, "--cluster", "east", "--out", fromBoth]);
    expect(r.code, r.stderr).toBe(0);
    expect(runCli(["generate", "--db", eastOnly, "--out", fromAlone]).code).toBe(0);
    const files = tree(fromBoth);
    expect(Object.keys(files).some((f) => f.startsWith("online-boutique/"))).toBe(true);
    expect(Object.keys(files).some((f) => f.includes("webshop"))).toBe(false);
    expect(files).toEqual(tree(fromAlone));
  });

  it("graph, diff and report of one cluster equal those of a store of that cluster alone", () => {
    const graph = (db: string, ...flags: string[]) => runCli(["graph", "--db", db, "-o", "json", ...flags]);
    expect(graph(both, "--cluster", "west").stdout).toBe(graph(westOnly).stdout);
    expect(graph(both, "--cluster", "east").stdout).toBe(graph(eastOnly).stdout);
    // The ingest log's figures (the "Sources" line: ingests, flows read, bad lines) are the store's:
    // one input may hold several clusters' records (docs/design.md, "Clusters").
    const report = (db: string, ...flags: string[]) =>
      runCli(["report", "--db", db, ...flags]).stdout.replace(/^- Sources: .*$/m, "- Sources: (store-wide)");
    expect(report(both, "--cluster", "west")).toBe(report(westOnly));
    expect(graph(both).code).toBe(2);
    const policies = join(tmp.dir, "gen-for-diff");
    expect(runCli(["generate", "--db", eastOnly, "--out", policies]).code).toBe(0);
    const diff = (db: string, ...flags: string[]) =>
      runCli(["diff", "--db", db, "--policies", policies, "-o", "json", ...flags]);
    const fromBoth = diff(both, "--cluster", "east");
    expect(fromBoth.code, fromBoth.stderr).toBe(0);
    expect(fromBoth.stdout).toBe(diff(eastOnly).stdout);
  });

  it("refuses a --cluster that is no DNS label, and one the store does not hold", () => {
    const bad = runCli(["ingest", "--db", join(tmp.dir, "bad.db"), "--cluster", "West_1", join(tmp.dir, "west.jsonl")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cluster "West_1" is not a cluster name');
    const missing = runCli(["graph", "--db", both, "--cluster", "north"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("holds no flows of cluster north; it holds: east, west");
  });

  it("a record whose cluster_name is no DNS label is a bad line, named", () => {
    const file = join(tmp.dir, "hostile.jsonl");
    const line = simulatedLines("hubble", 1)[0] as string;
    writeFileSync(file, `${line.replace('"cluster_name":"default"', '"cluster_name":"../../etc"')}\n`);
    const r = runCli(["ingest", "--db", join(tmp.dir, "hostile.db"), file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cluster_name "../../etc" is not a cluster name');
  });
});
