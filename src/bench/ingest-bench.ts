import { join } from "node:path";
import { writeSimulation } from "../samples/write-simulation.js";
import { fastestOf, type Measurement } from "./measure.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Hubble file ingest: 1,000,000 simulated flows through `flowpol ingest` (workers + SQLite)
 * against the naive baseline on the same file (readline, JSON.parse, Map), in the same run.
 * Targets: >= 2x the baseline's flows/s; peak RSS <= 256 MB. Each side's fastest of 3 runs, taken
 * in turn.
 */
const ROUNDS = 3;

export async function ingestBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const flows = Math.round(1_000_000 * ctx.scale);
  const file = join(ctx.dir, "hubble.jsonl");
  ctx.log(`simulating ${flows} Hubble flows...`);
  await writeSimulation({ scenario: "online-boutique", flows, format: "hubble", seed: 42 }, file, process.stdout);
  ctx.log(`naive baseline and flowpol ingest, in turn, ${ROUNDS} times...`);
  const [naive, ours] = fastestOf(ROUNDS, [
    ["naive-ingest", [file]],
    ["flowpol-ingest", [file, join(ctx.dir, "bench.db")]],
  ]) as [Measurement, Measurement];
  const naiveRate = (naive.result.flows ?? 0) / naive.seconds;
  const ourRate = (ours.result.flows ?? 0) / ours.seconds;
  const ratio = ourRate / naiveRate;
  return [
    {
      name: `hubble ingest, ${flows} flows`,
      value: Math.round(ourRate),
      unit: "flows/s",
      baseline: Math.round(naiveRate),
      ratio: Number(ratio.toFixed(2)),
      target: ">= 2x naive",
      pass: ratio >= 2,
    },
    {
      name: "hubble ingest, CPU seconds (all threads, fastest run)",
      value: Number(ours.cpuSeconds.toFixed(2)),
      unit: "s",
      baseline: Number(naive.cpuSeconds.toFixed(2)),
      ratio: Number((ours.cpuSeconds / naive.cpuSeconds).toFixed(2)),
    },
    {
      name: "hubble ingest, peak RSS (highest run)",
      value: Math.round(ours.maxRssMb),
      unit: "MB",
      baseline: Math.round(naive.maxRssMb),
      target: "<= 256 MB",
      pass: ours.maxRssMb <= 256,
    },
  ];
}
