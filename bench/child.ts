import { rmSync } from "node:fs";
import { Writable } from "node:stream";
import { ingestInputs } from "../src/ingest/files.js";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { storeStats } from "../src/store/stats.js";
import { naiveCalicoIngest } from "./naive-calico-ingest.js";
import { naiveGoldmaneIngest } from "./naive-goldmane-ingest.js";
import { naiveIngest } from "./naive-ingest.js";

/**
 * One benchmark task in its own process: prints {seconds, maxRssMb, result} as JSON.
 * Tasks register here; bench modules call them through measureInChild.
 */
const TASKS: Record<string, (args: string[]) => Promise<Record<string, number>>> = {
  "naive-diff": async ([policies, db, sample]) => {
    const { naiveDiff } = await import("./naive-diff.js");
    return naiveDiff(policies as string, db as string, Number(sample));
  },
  "flowpol-diff": async ([policies, db]) => {
    // Loaded only by the diff tasks: the ingest tasks load the collectors and the store alone.
    const { diff } = await import("../src/cli/commands/diff.js");
    let bytes = 0;
    const sink = new Writable({
      write(chunk, _enc, cb) {
        bytes += chunk.length;
        cb();
      },
    });
    await diff(
      { policies: [policies as string], db: db as string, format: "json", failOn: [] },
      { stdout: sink, stderr: sink },
    );
    return { outputBytes: bytes };
  },
  "naive-ingest": async ([file]) => naiveIngest(file as string),
  "naive-calico-ingest": async ([file]) => naiveCalicoIngest(file as string),
  "naive-goldmane-ingest": async ([file]) => naiveGoldmaneIngest(file as string),
  "flowpol-ingest": async ([file, db, workers]) => {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${db}${suffix}`, { force: true });
    const store = SqliteStore.open(db as string);
    try {
      const [result] = await ingestInputs({
        store,
        inputs: [file as string],
        ...(workers !== undefined ? { workers: Number(workers) } : {}),
      });
      if (!result || result.outcome === "failed") throw new Error(`ingest failed: ${result?.error?.message}`);
      const edges = (store.db.prepare("SELECT count(*) AS n FROM edges").get() as { n: number }).n;
      const stored = storeStats(store.db).flows;
      return { flows: result.counts.flows, stored, bad: result.counts.bad, edges };
    } finally {
      store.close();
    }
  },
};

const [task, ...args] = process.argv.slice(2);
const run = task ? TASKS[task] : undefined;
if (!run) {
  process.stderr.write(`unknown bench task ${task}; known: ${Object.keys(TASKS).join(", ")}\n`);
  process.exit(2);
}
const started = process.hrtime.bigint();
const cpuBefore = process.cpuUsage();
const result = await run(args);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const maxRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, maxRssMb, result })}\n`);
