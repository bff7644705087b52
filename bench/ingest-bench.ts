import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { writeSimulation } from "../src/samples/write-simulation.js";
import { writeChurn } from "./churn-traffic.js";
import { compareIngest } from "./compare-ingest.js";
import { measureInChild } from "./measure.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Hubble file ingest: 1,000,000 flows through `flowpol ingest` (workers + SQLite) against the
 * naive baseline on the same file (readline, JSON.parse, Map), in the same run, on two shapes: the
 * simulator's online-boutique traffic and generated high-churn traffic (churn-traffic.ts). Targets:
 * >= 2x the baseline's flows/s on both; peak RSS <= 256 MB, and flat: the first 100,000 lines of
 * each file are ingested once more to compare.
 */
const PREFIX_LINES = 100_000;

export async function ingestBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const flows = Math.round(1_000_000 * ctx.scale);
  const simulated = join(ctx.dir, "hubble.jsonl");
  ctx.log(`simulating ${flows} Hubble flows...`);
  await writeSimulation({ scenario: "online-boutique", flows, format: "hubble", seed: 42 }, simulated, process.stdout);
  const churn = join(ctx.dir, "hubble-churn.jsonl");
  ctx.log(`generating ${flows} high-churn Hubble flows...`);
  const generated = await writeChurn("hubble", flows, churn);
  ctx.log(`${generated.podIps} distinct pod IPs`);
  const rows: BenchRow[] = [];
  for (const [shape, file] of [
    ["simulated", simulated],
    ["high-churn", churn],
  ] as const) {
    rows.push(...compareIngest(ctx, { name: `hubble ingest (${shape})`, file, naiveTask: "naive-ingest", target: 2 }));
    const prefix = `${file}.head`;
    const lines = await copyLines(file, prefix, PREFIX_LINES);
    const small = measureInChild("flowpol-ingest", [prefix, join(ctx.dir, "prefix.db")]);
    rows.push({
      name: `hubble ingest (${shape}), peak RSS at ${lines} lines`,
      value: Math.round(small.maxRssMb),
      unit: "MB",
      target: "<= 256 MB, about the full file's",
      pass: small.maxRssMb <= 256,
    });
  }
  return rows;
}

/** Copies the first `count` lines of a file; returns how many there were. */
async function copyLines(from: string, to: string, count: number): Promise<number> {
  const out = createWriteStream(to);
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(from), crlfDelay: Number.POSITIVE_INFINITY })) {
    if (n >= count) break;
    if (!out.write(`${line}\n`)) await once(out, "drain");
    n++;
  }
  out.end();
  await once(out, "finish");
  return n;
}
