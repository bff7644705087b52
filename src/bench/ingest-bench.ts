import { join } from "node:path";
import { writeSimulation } from "../samples/write-simulation.js";
import { measureInChild } from "./measure.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Hubble file ingest: 1,000,000 simulated flows through `flowpol ingest` (workers + SQLite)
 * against the naive baseline on the same file (readline, JSON.parse, Map), in the same run.
 * Targets: >= 2x the baseline's flows/s; peak RSS <= 256 MB.
 */
export async function ingestBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const flows = Math.round(1_000_000 * ctx.scale);
  const file = join(ctx.dir, "hubble.jsonl");
  ctx.log(`simulating ${flows} Hubble flows...`);
  await writeSimulation({ scenario: "online-boutique", flows, format: "hubble", seed: 42 }, file, process.stdout);
  ctx.log("naive baseline...");
  const naive = measureInChild("naive-ingest", [file]);
  ctx.log("flowpol ingest...");
  const ours = measureInChild("flowpol-ingest", [file, join(ctx.dir, "bench.db")]);
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
      name: "hubble ingest, CPU seconds (all threads)",
      value: Number(ours.cpuSeconds.toFixed(2)),
      unit: "s",
      baseline: Number(naive.cpuSeconds.toFixed(2)),
      ratio: Number((ours.cpuSeconds / naive.cpuSeconds).toFixed(2)),
    },
    {
      name: "hubble ingest, peak RSS",
      value: Math.round(ours.maxRssMb),
      unit: "MB",
      baseline: Math.round(naive.maxRssMb),
      target: "<= 256 MB",
      pass: ours.maxRssMb <= 256,
    },
  ];
}
