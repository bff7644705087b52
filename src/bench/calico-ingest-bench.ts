import { join } from "node:path";
import { writeSimulation } from "../samples/write-simulation.js";
import { measureInChild } from "./measure.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Calico flow-log file ingest: simulated `flows.log` records through `flowpol ingest` (workers +
 * SQLite) against the naive baseline on the same file (readline, JSON.parse, Map), in the same
 * run. Two files: level 0 (one record per connection end, every line different: the worst case)
 * and Calico Enterprise's defaults (pod-prefix aggregation for allowed flows, level 1 for denied).
 * Target: >= 2x the baseline's records/s.
 */
export async function calicoIngestBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [format, records] of [
    ["calico-level0", Math.round(200_000 * ctx.scale)],
    ["calico", Math.round(200_000 * ctx.scale)],
  ] as const) {
    const file = join(ctx.dir, `${format}.log`);
    ctx.log(`simulating ${records} ${format} records...`);
    const written = await writeSimulation(
      { scenario: "online-boutique", flows: records, format, seed: 42 },
      file,
      process.stdout,
    );
    ctx.log("naive baseline...");
    const naive = measureInChild("naive-calico-ingest", [file]);
    ctx.log("flowpol ingest...");
    const ours = measureInChild("flowpol-ingest", [file, join(ctx.dir, `${format}.db`)]);
    const naiveRate = (naive.result.records ?? 0) / naive.seconds;
    const ourRate = written / ours.seconds;
    const ratio = ourRate / naiveRate;
    rows.push({
      name: `calico flow-log ingest (${format === "calico" ? "EE defaults" : "level 0"}), ${written} records`,
      value: Math.round(ourRate),
      unit: "records/s",
      baseline: Math.round(naiveRate),
      ratio: Number(ratio.toFixed(2)),
      target: ">= 2x naive",
      pass: ratio >= 2,
    });
  }
  return rows;
}
