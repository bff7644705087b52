import { join } from "node:path";
import { writeSimulation } from "../samples/write-simulation.js";
import { fastestOf, type Measurement } from "./measure.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Calico flow-log file ingest: simulated `flows.log` records through `flowpol ingest` (workers +
 * SQLite) against the naive baseline on the same file (readline, JSON.parse, Map), in the same
 * run. Two files of 1,000,000 simulated flows, as the Hubble ingest bench: level 0 (one record per
 * connection end, every line different: the worst case) and Calico Enterprise's defaults
 * (pod-prefix aggregation for allowed flows, level 1 for denied). Target: >= 2x the baseline's
 * records/s. Each side's fastest of 3 runs, taken in turn.
 */
const ROUNDS = 3;

export async function calicoIngestBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const flows = Math.round(1_000_000 * ctx.scale);
  for (const [format, records] of [
    ["calico-level0", flows],
    ["calico", flows],
  ] as const) {
    const file = join(ctx.dir, `${format}.log`);
    ctx.log(`simulating ${records} ${format} records...`);
    const written = await writeSimulation(
      { scenario: "online-boutique", flows: records, format, seed: 42 },
      file,
      process.stdout,
    );
    ctx.log(`naive baseline and flowpol ingest, in turn, ${ROUNDS} times...`);
    const [naive, ours] = fastestOf(ROUNDS, [
      ["naive-calico-ingest", [file]],
      ["flowpol-ingest", [file, join(ctx.dir, `${format}.db`)]],
    ]) as [Measurement, Measurement];
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
