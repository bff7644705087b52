import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultWorkers } from "../../src/collect/ingest.js";

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
