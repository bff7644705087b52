import { FULL_SIZE, writeDiffFixture } from "./diff-fixture.js";
import { measureInChild } from "./measure.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * `flowpol diff` of 100,000 distinct observed edges against 2,000 policies over 5,000 workloads,
 * end to end (policy YAML, store, evaluation, JSON report); and the evaluation alone against the
 * naive evaluator (every policy scanned for every edge) on a sample of the same edges, in the same
 * process and run, which must give the same verdicts. Targets: <= 10 s and <= 512 MB peak RSS.
 */
const BASELINE_SAMPLE = 5_000;

export async function diffBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const size = { ...FULL_SIZE, edges: Math.max(1000, Math.round(FULL_SIZE.edges * ctx.scale)) };
  ctx.log(`writing ${size.namespaces * size.policiesPerNamespace} policies and ${size.edges} edges...`);
  const { policies, db } = writeDiffFixture(ctx.dir, size);
  ctx.log("naive baseline (sample)...");
  const naive = measureInChild("naive-diff", [policies, db, String(BASELINE_SAMPLE)]);
  if ((naive.result.mismatches ?? 1) !== 0)
    throw new Error(`naive and flowpol verdicts differ on ${naive.result.mismatches} edges`);
  ctx.log("flowpol diff...");
  const ours = measureInChild("flowpol-diff", [policies, db]);
  const naiveRate = (naive.result.edges ?? 0) / (naive.result.evalSeconds ?? 1);
  const oursRate = (naive.result.allEdges ?? 0) / (naive.result.oursSeconds ?? 1);
  return [
    {
      name: `diff end to end, ${size.edges} edges x ${size.namespaces * size.policiesPerNamespace} policies, wall`,
      value: Number(ours.seconds.toFixed(2)),
      unit: "s",
      target: "<= 10 s",
      pass: ours.seconds <= 10,
    },
    {
      name: "diff end to end, CPU time (steadier on a shared machine)",
      value: Number(ours.cpuSeconds.toFixed(2)),
      unit: "s",
    },
    {
      name: `diff evaluation: engine (${naive.result.allEdges} edges) vs naive scan of every policy (${naive.result.edges})`,
      value: Math.round(oursRate),
      unit: "edges/s",
      baseline: Math.round(naiveRate),
      ratio: Number((oursRate / naiveRate).toFixed(2)),
      target: ">= 2x naive",
      pass: oursRate >= 2 * naiveRate,
    },
    {
      name: "diff end to end, peak RSS",
      value: Math.round(ours.maxRssMb),
      unit: "MB",
      target: "<= 512 MB",
      pass: ours.maxRssMb <= 512,
    },
  ];
}
