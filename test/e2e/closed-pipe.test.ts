import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { CLI, tempDir } from "../helpers/paths.js";
import { simulatedLines } from "../helpers/simulated.js";

/** Runs the CLI with its stdout closed by the reader at once, as `flowpol ... | head -0` does. */
function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("a reader that closes the pipe early", () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it("finishes the command's work and exits without a stack trace", async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const lines = simulatedLines("hubble", 20);
    const file = join(tmp.dir, "flows.jsonl");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const db = join(tmp.dir, "flows.db");

    const ingest = await runWithClosedStdout(["ingest", "-o", "json", "--db", db, file]);
    expect(ingest.stderr).not.toMatch(/EPIPE|at .*\.js:\d+/);
    expect(ingest.code).toBe(0);
    const stats = runCli(["stats", "-o", "json", "--db", db]);
    expect(JSON.parse(stats.stdout).flows).toBe(lines.length);

    const closed = await runWithClosedStdout(["stats", "--db", db]);
    expect(closed.stderr).toBe("");
    expect(closed.code).toBe(0);
  });
});
