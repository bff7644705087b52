import { join } from "node:path";
import { fastestOf, type Measurement } from "./measure.js";
import type { BenchContext, BenchRow } from "./types.js";

/** One file ingested by `flowpol ingest` against a naive baseline task on the same file, in the same run. */
export interface IngestComparison {
  name: string;
  file: string;
  /** The child task of the baseline: it reports `records` (or `flows`) read. */
  naiveTask: string;
  target: number | undefined;
}

/** FLOWPOL_BENCH_ROUNDS=1 for a quick look on a busy machine. */
const ROUNDS = Number(process.env.FLOWPOL_BENCH_ROUNDS ?? "3");

/**
 * Each side's fastest of `ROUNDS` runs, taken in turn. Fails the run (throws) when flowpol stored
 * fewer records than the baseline read or the store does not hold what the ingest reported: a
 * faster ingest that loses flows is no result.
 */
export function compareIngest(ctx: BenchContext, c: IngestComparison, rounds = ROUNDS): BenchRow[] {
  ctx.log(`${c.name}: naive baseline and flowpol ingest, in turn, ${rounds} times...`);
  const [naive, ours] = fastestOf(rounds, [
    [c.naiveTask, [c.file]],
    ["flowpol-ingest", [c.file, join(ctx.dir, "compare.db")]],
  ]) as [Measurement, Measurement];
  const read = naive.result.records ?? naive.result.flows ?? 0;
  checkStored(c.name, naive.result.connections ?? read, ours);
  const naiveRate = read / naive.seconds;
  const ourRate = read / ours.seconds;
  const ratio = ourRate / naiveRate;
  return [
    {
      name: `${c.name}, ${read} records`,
      value: Math.round(ourRate),
      unit: "records/s",
      baseline: Math.round(naiveRate),
      ratio: Number(ratio.toFixed(2)),
      ...(c.target === undefined
        ? { target: "none (reported)" }
        : { target: `>= ${c.target}x naive`, pass: ratio >= c.target }),
    },
    {
      name: `${c.name}, peak RSS (highest run)`,
      value: Math.round(ours.maxRssMb),
      unit: "MB",
      baseline: Math.round(naive.maxRssMb),
      target: "<= 256 MB",
      pass: ours.maxRssMb <= 256,
    },
  ];
}

/**
 * Every flow the baseline read is stored: counted by the ingest, and in the store. Flows are Hubble
 * records, or the connections Calico and Goldmane records stand for.
 */
export function checkStored(name: string, read: number, ours: Measurement): void {
  const { flows, stored, bad } = ours.result;
  if (bad !== 0 || flows !== read || stored !== read) {
    throw new Error(
      `${name}: the baseline read ${read} flows; flowpol counted ${flows}, stored ${stored}, ${bad} bad lines`,
    );
  }
}
