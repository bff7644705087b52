import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { churnLines } from "../../bench/churn-traffic.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { readTable } from "../helpers/store.js";

const tmp = tempDir("flowpol-slow-chunks-");
afterAll(() => tmp.cleanup());

/**
 * Flow-log lines of about 110 KiB (4,000 labels each), 60 pairs in 5 windows: the file is read
 * long before its first chunk is parsed, so the main thread has nothing to wait on but its
 * worker. Regression: the worker did not hold the process open, Node exited, and the command
 * stopped with "waited on work that never answered" and nothing stored.
 */
async function writeSlowFile(file: string): Promise<number> {
  const [first] = churnLines("calico-level0", 1, 5).lines;
  const out = createWriteStream(file);
  let lines = 0;
  for (let pair = 0; pair < 60; pair++) {
    const labels = Array.from({ length: 4000 }, (_, k) => `"l${k}=v${pair}-${k}-xxxxxxxxxx"`).join(",");
    const line = (first as string)
      .replace(/"source_labels":\{"labels":\[/, `"source_labels":{"labels":[${labels},`)
      .replace(/"dest_port":\d+/, `"dest_port":${1000 + pair}`);
    for (let w = 0; w < 5; w++) {
      const windowed = line.replace(/"start_time":(\d+)/, (_m, t: string) => `"start_time":${Number(t) + w * 15}`);
      if (!out.write(`${windowed}\n`)) await once(out, "drain");
      lines++;
    }
  }
  out.end();
  await once(out, "finish");
  return lines;
}

it("stores every record of chunks slower to parse than to read, with one worker", async () => {
  const file = join(tmp.dir, "slow.log");
  const db = join(tmp.dir, "slow.db");
  const lines = await writeSlowFile(file);
  const r = runCli(["ingest", "--db", db, "--workers", "1", file]);
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(0);
  // The same file parsed on the main thread alone is the reference.
  const reference = join(tmp.dir, "reference.db");
  expect(runCli(["ingest", "--db", reference, "--workers", "0", file]).code).toBe(0);
  const stored = (path: string) => readTable(path, "SELECT status, lines_done, flows, bad FROM ingests");
  expect(stored(db)).toEqual(stored(reference));
  expect(stored(db)).toEqual([expect.objectContaining({ status: "complete", lines_done: lines, bad: 0 })]);
});
