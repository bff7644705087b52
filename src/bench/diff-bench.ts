import { writeDiffFixture, FULL_SIZE } from "./diff-fixture.js";
import { measureInChild } from "./measure.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * `flowpol diff` of 100,000 distinct observed edges against 2,000 policies over 5,000 workloads,
 * end to end (policy YAML, store, evaluation, JSON report), against the naive evaluator (every
 * policy scanned for every edge) on a sample of the same edges, in the same run.
 * Targets: <= 10 s and <= 512 MB peak RSS.
 */
const BASELINE_SAMPLE = 5_000;

export async function diffBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const size = { ...FULL_SIZE, edges: Math.max(1000, Math.round(FULL_SIZE.edges * ctx.scale)) };
  ctx.log(`writing ${size.namespaces * size.policiesPerNamespace} policies and ${size.edges} edges...`);
  const { policies, db } = writeDiffFixture(ctx.dir, size);
  ctx.log("naive baseline (sample)...");
  const naive = measureInChild("naive-diff", [policies, db, String(BASELINE_SAMPLE)]);
  if ((naive.result.mismatches ?? 1) !== 0) throw new Error(`naive and flowpol verdicts differ on ${naive.result.mismatches} edges`);
  ctx.log("flowpol diff...");
  const ours = measureInChild("flowpol-diff", [policies, db]);
  const ourRate = size.edges / ours.seconds;
  const naiveRate = (naive.result.edges ?? 0) / (naive.result.evalSeconds ?? 1);
  return [
    {
      name: `diff, ${size.edges} edges x ${size.namespaces * size.policiesPerNamespace} policies, wall time`,
      value: Number(ours.seconds.toFixed(2)),
      unit: "s",
      target: "<= 10 s",
      pass: ours.seconds <= 10,
    },
    {
      name: "diff, edges/s (end to end) vs naive evaluator (evaluation only)",
      value: Math.round(ourRate),
      unit: "edges/s",
      baseline: Math.round(naiveRate),
      ratio: Number((ourRate / naiveRate).toFixed(2)),
    },
    {
      name: "diff, peak RSS",
      value: Math.round(ours.maxRssMb),
      unit: "MB",
      target: "<= 512 MB",
      pass: ours.maxRssMb <= 512,
    },
  ];
}
