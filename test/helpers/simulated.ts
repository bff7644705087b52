import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SCENARIOS } from "../../src/samples/online-boutique.js";
import { buildCluster, simulateEvents } from "../../src/samples/simulate.js";
import { EMITTERS } from "../../src/samples/write-simulation.js";
import { SHARED_HUBBLE } from "./paths.js";
import { sharedFiles } from "./shared.js";

/** The lines the simulator writes in `format` for `seconds` of Online Boutique traffic (fixed seeds). */
export function simulatedLines(format: string, seconds: number): string[] {
  const cluster = buildCluster(SCENARIOS["online-boutique"] as NonNullable<(typeof SCENARIOS)[string]>, 8);
  const emitter = EMITTERS[format]?.create(cluster, 9);
  const lines: string[] = [];
  for (const event of simulateEvents(cluster, seconds, 10)) lines.push(...(emitter?.lines(event) ?? []));
  lines.push(...(emitter?.flush?.() ?? []));
  return lines;
}

/** Every non-blank line of the real Hubble captures in ../shared/data/hubble; none without ../shared. */
export function capturedHubbleLines(): string[] {
  return sharedFiles(SHARED_HUBBLE, ".jsonl")
    .flatMap((f) => readFileSync(join(SHARED_HUBBLE, f), "utf8").split("\n"))
    .filter((l) => l.trim() !== "");
}

/** The named line sets that have lines (the captured ones are empty without ../shared). */
export function withLines(sets: [string, string[]][]): [string, string[]][] {
  return sets.filter(([, lines]) => lines.length > 0);
}
