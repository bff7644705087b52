import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Database } from "../../src/store/sqlite.js";
import { runCli } from "../helpers/cli.js";
import { CLI, tempDir } from "../helpers/paths.js";
import { readEdges } from "../helpers/store.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

function bytesDone(db: string): number {
  try {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const row = conn.prepare("SELECT max(bytes_done) AS b FROM ingests").get() as { b: number | null };
      return row.b ?? 0;
    } finally {
      conn.close();
    }
  } catch {
    return 0;
  }
}

describe("an ingest killed part way", () => {
  it("leaves a consistent store that a re-run completes without double counting", async () => {
    const file = join(dir, "flows.jsonl");
    expect(runCli(["simulate", "--flows", "30000", "--out", file]).code).toBe(0);
    const db = join(dir, "killed.db");

    const child = spawn(process.execPath, [CLI, "ingest", "--db", db, "--workers", "1", file], { stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 30_000;
    while (bytesDone(db) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGKILL");
    await exited;
    const partial = bytesDone(db);
    expect(partial).toBeGreaterThan(0);

    const rerun = runCli(["ingest", "--db", db, file]);
    expect(rerun.code, rerun.stderr).toBe(0);
    // Killed before the end: the re-run resumes; killed after it: nothing is added.
    expect(rerun.stdout).toMatch(/resumed|already ingested/);

    const fresh = join(dir, "fresh.db");
    expect(runCli(["ingest", "--db", fresh, file]).code).toBe(0);
    expect(readEdges(db)).toEqual(readEdges(fresh));
    const flows = (path: string) => JSON.parse(runCli(["stats", "-o", "json", "--db", path]).stdout).flows;
    expect(flows(db)).toBe(flows(fresh));
  });
});
