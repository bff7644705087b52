import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { churnLines } from "../helpers/churn.js";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "flowpol-churn-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stats(db: string): Record<string, unknown> {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe("ingest of a high-cardinality Hubble file", () => {
  // Big enough for the workers (over 4 MiB), a new pod IP every few flows and a uuid per flow.
  const lines = churnLines(12_000, 7);
  const file = join(dir, "churn.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n`);

  it("stores every flow with the default workers, the same as on the main thread", () => {
    const pooled = join(dir, "pooled.db");
    const inline = join(dir, "inline.db");
    const a = runCli(["ingest", "--db", pooled, file]);
    expect(a.stderr).toContain(`ingested ${lines.length} flows`);
    expect(a.code).toBe(0);
    const b = runCli(["ingest", "--workers", "0", "--db", inline, file]);
    expect(b.code).toBe(0);
    const s = stats(pooled);
    expect(s.flows).toBe(lines.length);
    expect(s).toEqual(stats(inline));
  });
});
