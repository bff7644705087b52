import { join } from "node:path";
import { scenarioByName, writeSimulation } from "../src/samples/write-simulation.js";
import { writeChurn } from "./churn-traffic.js";
import { compareIngest } from "./compare-ingest.js";
import { repeatFlowLog } from "./repeat-flow-log.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Calico flow-log file ingest: simulated `flows.log` records through `flowpol ingest` (workers +
 * SQLite) against the naive baseline on the same file (readline, JSON.parse, Map), in the same
 * run. Each side's fastest of 3 runs, taken in turn. Target: >= 2x the baseline's records/s, on
 * files of about a million records, as the Hubble ingest bench:
 * - level 0 (one record per connection end, every line different: the worst case), 1,000,000
 *   simulated flows, and as many records of generated high-churn traffic (churn-traffic.ts);
 * - Calico Enterprise's defaults (pod-prefix aggregation for allowed flows, level 1 for denied).
 *   The simulation spans two days, which EE aggregates into about 136,000 records however many
 *   flows are simulated; the two days repeated 7 times (times shifted) make about 950,000.
 * The two days alone (215 MB, an ingest of about a second) are measured too, without a target:
 * there, starting the worker and warming up its JIT weigh a quarter of the run.
 */
const EE_COPIES = 7;

export async function calicoIngestBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const flows = Math.round(1_000_000 * ctx.scale);
  const files: Array<{ file: string; name: string; target: number | undefined }> = [];
  for (const format of ["calico-level0", "calico"] as const) {
    const file = join(ctx.dir, `${format}.log`);
    ctx.log(`simulating ${flows} ${format} flows...`);
    await writeSimulation({ scenario: "online-boutique", flows, format, seed: 42 }, file, process.stdout);
    if (format === "calico-level0") {
      files.push({ file, name: "calico flow-log ingest (level 0, simulated)", target: 2 });
      const churn = join(ctx.dir, "calico-level0-churn.log");
      ctx.log(`generating ${flows} high-churn calico-level0 records...`);
      const generated = await writeChurn("calico-level0", flows, churn);
      ctx.log(`${generated.podIps} distinct pod IPs`);
      files.push({ file: churn, name: "calico flow-log ingest (level 0, high-churn)", target: 2 });
      continue;
    }
    const days = scenarioByName("online-boutique").durationMs / 86_400_000;
    const longer = join(ctx.dir, "calico-long.log");
    ctx.log(`repeating the ${days} simulated days ${EE_COPIES} times...`);
    await repeatFlowLog(file, longer, EE_COPIES, days * 86_400);
    files.push({ file: longer, name: `calico flow-log ingest (EE defaults, ${days * EE_COPIES} days)`, target: 2 });
    files.push({
      file,
      name: `calico flow-log ingest (EE defaults, ${days} days: start-up weighs)`,
      target: undefined,
    });
  }
  return files.flatMap((f) => compareIngest(ctx, { ...f, naiveTask: "naive-calico-ingest" }));
}
