import { join } from "node:path";
import { writeSimulation } from "../src/samples/write-simulation.js";
import { writeChurn } from "./churn-traffic.js";
import { compareIngest } from "./compare-ingest.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Goldmane JSON-lines ingest (what exporters and `grpcurl` save) against the naive baseline on
 * the same file, in the same run, on the simulator's traffic and on high-churn traffic. Goldmane
 * merges a 15-second window's connections per workload pair, so 300,000 records stand for
 * millions of connections. Target: >= 2x the baseline's records/s on both.
 */
export async function goldmaneIngestBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const records = Math.round(300_000 * ctx.scale);
  const simulated = join(ctx.dir, "goldmane.jsonl");
  ctx.log(`simulating ${records} Goldmane flows...`);
  await writeSimulation(
    { scenario: "online-boutique", flows: records, format: "goldmane", seed: 42 },
    simulated,
    process.stdout,
  );
  const churn = join(ctx.dir, "goldmane-churn.jsonl");
  ctx.log(`generating ${records} high-churn Goldmane flows...`);
  await writeChurn("goldmane", records, churn);
  return [
    ...compareIngest(ctx, {
      name: "goldmane ingest (simulated)",
      file: simulated,
      naiveTask: "naive-goldmane-ingest",
      target: 2,
    }),
    ...compareIngest(ctx, {
      name: "goldmane ingest (high-churn)",
      file: churn,
      naiveTask: "naive-goldmane-ingest",
      target: 2,
    }),
  ];
}
