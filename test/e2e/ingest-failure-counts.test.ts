import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { churnLines } from "../helpers/churn.js";
import { runCli } from "../helpers/cli.js";
import { CLI } from "../helpers/paths.js";

const dir = mkdtempSync(join(tmpdir(), "flowpol-failure-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function storedFlows(db: string): number {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { flows: number }).flows;
}

describe("an ingest that cannot finish", () => {
  it("exits 1 and reports exactly the flows it stored before the failure", () => {
    // A gzip file cut short: the chunks before the cut are stored, then gunzip fails.
    const lines = churnLines(40_000, 3);
    const whole = gzipSync(`${lines.join("\n")}\n`);
    const file = join(dir, "cut.jsonl.gz");
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length * 0.8)));
    const db = join(dir, "cut.db");
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    const stored = storedFlows(db);
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(lines.length);
    expect(r.stderr).toContain(`stored before the failure: ${stored} flows`);
    expect(r.stderr).toContain(`ingested ${stored} flows`);
  });

  it("never exits 0 while the command still waits on work that never answers", () => {
    // The CLI's guard, on a command whose promise is never settled.
    const script = `import("${CLI}").then(async (m) => { m.failUnfinishedCommand(() => false); new Promise(() => {}); });`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toContain("the command stopped before finishing");
    expect(r.status).not.toBe(0);
  });
});
