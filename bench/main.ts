import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calicoIngestBenchmark } from "./calico-ingest-bench.js";
import { clickhouseBenchmark } from "./clickhouse-store.js";
import { diffBenchmark } from "./diff-bench.js";
import { goldmaneIngestBenchmark } from "./goldmane-ingest-bench.js";
import { hubbleGrpcBenchmark } from "./hubble-grpc.js";
import { ingestBenchmark } from "./ingest-bench.js";
import { synthBenchmark } from "./synth-bench.js";
import type { Benchmark, BenchRow } from "./types.js";

/**
 * `npm run bench`: every benchmark, each reporting against a baseline measured in the same run
 * (this machine is shared and noisy). Prints a table; writes bench-results/latest.json.
 * FLOWPOL_BENCH_SCALE=0.1 runs a tenth of the volume; FLOWPOL_BENCH_ONLY=name runs one;
 * FLOWPOL_BENCH_ROUNDS=1 takes one run per side of the file ingest comparisons (default 3).
 */
const BENCHMARKS: Record<string, Benchmark> = {
  ingest: ingestBenchmark,
  "calico-ingest": calicoIngestBenchmark,
  "goldmane-ingest": goldmaneIngestBenchmark,
  "hubble-grpc": hubbleGrpcBenchmark,
  synthesis: synthBenchmark,
  diff: diffBenchmark,
  clickhouse: clickhouseBenchmark,
};

async function main(): Promise<void> {
  const scale = Number(process.env.FLOWPOL_BENCH_SCALE ?? "1");
  const only = process.env.FLOWPOL_BENCH_ONLY?.split(",");
  const dir = mkdtempSync(join(tmpdir(), "flowpol-bench-"));
  const rows: Array<BenchRow & { bench: string }> = [];
  try {
    for (const [name, bench] of Object.entries(BENCHMARKS)) {
      if (only && !only.includes(name)) continue;
      process.stderr.write(`== ${name}\n`);
      const result = await bench({ dir, scale, log: (line) => process.stderr.write(`   ${line}\n`) });
      rows.push(...result.map((r) => ({ ...r, bench: name })));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const header = ["benchmark", "value", "baseline", "ratio", "target", "ok"];
  const table = rows.map((r) => [
    r.name,
    `${r.value} ${r.unit}`,
    r.baseline === undefined ? "" : `${r.baseline} ${r.unit}`,
    r.ratio === undefined ? "" : `${r.ratio}x`,
    r.target ?? "",
    r.pass === undefined ? "" : r.pass ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  process.stdout.write(`${line(header)}\n${line(widths.map((w) => "-".repeat(w)))}\n`);
  for (const row of table) process.stdout.write(`${line(row)}\n`);
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/latest.json", `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
}

await main();
