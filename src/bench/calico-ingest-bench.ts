import { join } from "node:path";
import { scenarioByName, writeSimulation } from "../samples/write-simulation.js";
import { fastestOf, type Measurement } from "./measure.js";
import { repeatFlowLog } from "./repeat-flow-log.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Calico flow-log file ingest: simulated `flows.log` records through `flowpol ingest` (workers +
 * SQLite) against the naive baseline on the same file (readline, JSON.parse, Map), in the same
 * run. Each side's fastest of 3 runs, taken in turn. Target: >= 2x the baseline's records/s, on
 * files of about a million records, as the Hubble ingest bench:
 * - level 0 (one record per connection end, every line different: the worst case), 1,000,000
 *   simulated flows;
 * - Calico Enterprise's defaults (pod-prefix aggregation for allowed flows, level 1 for denied).
 *   The simulation spans two days, which EE aggregates into about 136,000 records however many
 *   flows are simulated; the two days repeated 7 times (times shifted) make about 950,000.
 * The two days alone (215 MB, an ingest of about a second) are measured too, without a target:
 * there, starting the worker and warming up its JIT weigh a quarter of the run.
 */
const ROUNDS = 3;
const EE_COPIES = 7;

interface BenchFile {
  file: string;
  records: number;
  name: string;
  target: boolean;
}

export async function calicoIngestBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const flows = Math.round(1_000_000 * ctx.scale);
  const files: BenchFile[] = [];
  for (const format of ["calico-level0", "calico"] as const) {
    const file = join(ctx.dir, `${format}.log`);
    ctx.log(`simulating ${flows} ${format} flows...`);
    const records = await writeSimulation(
      { scenario: "online-boutique", flows, format, seed: 42 },
      file,
      process.stdout,
    );
    if (format === "calico-level0") {
      files.push({ file, records, name: `calico flow-log ingest (level 0), ${records} records`, target: true });
      continue;
    }
    const days = scenarioByName("online-boutique").durationMs / 86_400_000;
    const longer = join(ctx.dir, "calico-long.log");
    ctx.log(`repeating the ${days} simulated days ${EE_COPIES} times...`);
    const repeated = await repeatFlowLog(file, longer, EE_COPIES, days * 86_400);
    files.push({
      file: longer,
      records: repeated,
      name: `calico flow-log ingest (EE defaults, ${days * EE_COPIES} days), ${repeated} records`,
      target: true,
    });
    files.push({
      file,
      records,
      name: `calico flow-log ingest (EE defaults, ${days} days: start-up weighs), ${records} records`,
      target: false,
    });
  }
  const rows: BenchRow[] = [];
  for (const [i, { file, records, name, target }] of files.entries()) {
    ctx.log(`${name}: naive baseline and flowpol ingest, in turn, ${ROUNDS} times...`);
    const [naive, ours] = fastestOf(ROUNDS, [
      ["naive-calico-ingest", [file]],
      ["flowpol-ingest", [file, join(ctx.dir, `calico-${i}.db`)]],
    ]) as [Measurement, Measurement];
    const naiveRate = (naive.result.records ?? 0) / naive.seconds;
    const ourRate = records / ours.seconds;
    const ratio = ourRate / naiveRate;
    rows.push({
      name,
      value: Math.round(ourRate),
      unit: "records/s",
      baseline: Math.round(naiveRate),
      ratio: Number(ratio.toFixed(2)),
      ...(target ? { target: ">= 2x naive", pass: ratio >= 2 } : { target: "none (reported)" }),
    });
  }
  return rows;
}
