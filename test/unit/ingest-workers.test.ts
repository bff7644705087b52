import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { parseJob } from "../../src/collect/parse-job.js";
import { ParsePool } from "../../src/collect/worker-pool.js";
import { defaultWorkers } from "../../src/ingest/files.js";
import { simulatedLines } from "../helpers/simulated.js";

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), "flowpol-workers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse file of this size: nothing is written. */
function sized(name: string, bytes: number): string {
  const path = join(dir, name);
  writeFileSync(path, "");
  truncateSync(path, bytes);
  return path;
}

describe("the default number of ingest workers", () => {
  const cores = Math.min(4, Math.max(1, availableParallelism()));
  it.each([
    ["a small file", () => [sized("small.jsonl", 200 * MiB)], 1],
    ["a file over 256 MiB", () => [sized("big.jsonl", 300 * MiB)], Math.min(cores, 2)],
    [
      "two files that add up to more",
      () => [sized("a.jsonl", 200 * MiB), sized("b.jsonl", 200 * MiB)],
      Math.min(cores, 2),
    ],
    ["a gzip file, counted at ten times its size", () => [sized("flows.jsonl.gz", 40 * MiB)], Math.min(cores, 2)],
    ["a huge file: no more than the cores", () => [sized("huge.jsonl", 4096 * MiB)], cores],
    ["stdin, whose size is unknown", () => ["-"], cores],
    ["a missing file (it fails later on its own)", () => [join(dir, "missing.jsonl")], 1],
  ])("%s", (_what, inputs, expected) => {
    expect(defaultWorkers(inputs())).toBe(expected);
  });
});

describe("the parse pool", () => {
  const chunk = () => Buffer.from(`${simulatedLines("calico", 50).join("\n")}\n`);
  const job = () => ({ seq: 0, bytes: chunk(), startLine: 1, format: "calico" });
  /** The pool's worker threads: a crash is their `error` event. */
  const workersOf = (pool: ParsePool) => (pool as unknown as { workers: Worker[] }).workers;

  it("parses a crashed worker's jobs on the main thread and starts a fresh worker: nothing is lost", async () => {
    const pool = new ParsePool(2);
    try {
      const [first] = workersOf(pool);
      const onFirst = pool.parse(job());
      const onSecond = pool.parse(job());
      first?.emit("error", new Error("out of memory"));
      const [a, b] = await Promise.all([onFirst, onSecond]);
      const expected = (await parseJob(job())).flows;
      expect(a.flows).toBe(expected);
      expect(b.flows).toBe(expected);
      const later = await Promise.all([pool.parse(job()), pool.parse(job()), pool.parse(job())]);
      expect(later.map((x) => x.flows)).toEqual([expected, expected, expected]);
      expect(workersOf(pool)).toHaveLength(2);
      expect(pool.deaths).toEqual(["out of memory"]);
    } finally {
      await pool.close();
    }
  });

  it("loses nothing when its workers die for real mid-job, again and again", async () => {
    // Workers that go away without answering (killed, or out of heap: Node 20 reports that as an
    // error, and both end in an exit event). A heap limit small enough to kill a worker on every
    // Node is not portable (Node 24 aborts the whole process below a few MiB), so the deaths here
    // are real terminations, repeated past the pool's replacements.
    const pool = new ParsePool(2);
    try {
      const big = () => ({
        seq: 0,
        bytes: Buffer.from(`${simulatedLines("calico", 3000).join("\n")}\n`),
        startLine: 1,
        format: "calico",
      });
      const pending = Array.from({ length: 6 }, () => pool.parse(big()));
      for (let round = 0; round < 6; round++) {
        for (const w of [...workersOf(pool)]) await w.terminate();
      }
      const batches = await Promise.all(pending);
      const expected = await parseJob(big());
      expect(batches).toEqual(Array.from({ length: 6 }, () => expected));
      expect(pool.deaths.length).toBeGreaterThan(0);
      expect(pool.deaths.every((d) => d.startsWith("exited with code"))).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
