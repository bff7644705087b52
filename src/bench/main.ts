import { mkdirSync, writeFileSync } from "node:fs";
import type { Benchmark, BenchRow } from "./types.js";

/**
 * `npm run bench`: runs every benchmark, prints a table and the rows as JSON (also written to
 * bench-results/latest.json). Add a benchmark by adding its module to BENCHMARKS.
 * `npm run bench -- NAME` runs only the benchmarks whose name contains NAME.
 */
const BENCHMARKS: Record<string, () => Promise<{ default: Benchmark }>> = {
  "hubble-grpc": () => import("./hubble-grpc.js"),
};

function formatValue(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const rows: Array<BenchRow & { bench: string }> = [];
  for (const [name, load] of Object.entries(BENCHMARKS)) {
    if (only && !name.includes(only)) continue;
    const bench = (await load()).default;
    for (const row of await bench()) rows.push({ bench: name, ...row });
  }
  const table = rows.map((r) => [
    r.bench,
    r.name,
    `${formatValue(r.value)} ${r.unit}`,
    r.baseline !== undefined ? `${formatValue(r.baseline)} ${r.unit}` : "",
    r.ratio !== undefined ? r.ratio.toFixed(2) : "",
    r.target ?? "",
  ]);
  const header = ["bench", "measure", "value", "baseline", "ratio", "target"];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
  console.log(line(header));
  for (const row of table) console.log(line(row));
  const json = JSON.stringify(rows, null, 2);
  console.log(json);
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/latest.json", `${json}\n`);
}

await main();
