import { createWriteStream, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { UsageError } from "../errors.js";
import { CalicoFlowLogEmitter, EE_DEFAULTS, type FlowLogOptions } from "./emit-calico.js";
import { GoldmaneEmitter } from "./emit-goldmane.js";
import { HubbleEmitter } from "./emit-hubble.js";
import { SCENARIOS } from "./online-boutique.js";
import type { Scenario, SimEvent } from "./scenario.js";
import { buildCluster, type SimCluster, simulateEvents } from "./simulate.js";

/**
 * A line emitter for one output format. Emitters that aggregate over time windows (Calico flow
 * logs, Goldmane) return a window's records when it closes, and the rest from `flush`.
 */
export interface Emitter {
  lines(event: SimEvent): string[];
  flush?(): string[];
}

export interface EmitterFactory {
  create(cluster: SimCluster, seed: number): Emitter;
  /** About how many records one connection event makes, to size `--flows`. */
  recordsPerEvent: number;
}

const flowLog = (options: FlowLogOptions): EmitterFactory => ({
  create: (_cluster, seed) => new CalicoFlowLogEmitter(seed, options),
  recordsPerEvent: options.allowedLevel === 0 ? 1.6 : options.allowedLevel === 1 ? 1.2 : 0.3,
});

export const EMITTERS: Record<string, EmitterFactory> = {
  hubble: { create: (cluster, seed) => new HubbleEmitter(cluster, seed, 5_000), recordsPerEvent: 2.4 },
  /** Calico Enterprise defaults: allowed flows at level 2, denied at level 1, 5-minute windows. */
  calico: flowLog(EE_DEFAULTS),
  "calico-level0": flowLog({ allowedLevel: 0, deniedLevel: 0, flushMs: 300_000 }),
  "calico-level1": flowLog({ allowedLevel: 1, deniedLevel: 1, flushMs: 300_000 }),
  "calico-level2": flowLog({ allowedLevel: 2, deniedLevel: 2, flushMs: 300_000 }),
  "calico-level3": flowLog({ allowedLevel: 2, deniedLevel: 3, flushMs: 300_000 }),
  goldmane: { create: () => new GoldmaneEmitter(), recordsPerEvent: 0.5 },
};

export interface SimulateOptions {
  scenario: string;
  /** Number of records to write (approximately: whole events are written). */
  flows: number;
  format: string;
  seed: number;
}

export function scenarioByName(name: string): Scenario {
  const scenario = SCENARIOS[name];
  if (!scenario) {
    throw new UsageError(
      `unknown --scenario ${JSON.stringify(name)}`,
      `use one of: ${Object.keys(SCENARIOS).join(", ")}`,
    );
  }
  return scenario;
}

/** Yields the simulated records as text lines (without newlines). */
export function* simulateLines(options: SimulateOptions): Generator<string> {
  const factory = EMITTERS[options.format];
  if (!factory) {
    throw new UsageError(
      `unknown --format ${JSON.stringify(options.format)}`,
      `use one of: ${Object.keys(EMITTERS).join(", ")}`,
    );
  }
  const cluster = buildCluster(scenarioByName(options.scenario), options.seed);
  const emitter = factory.create(cluster, options.seed + 10);
  let written = 0;
  // Events are generated for the whole simulated window.
  const events = Math.ceil(options.flows / factory.recordsPerEvent);
  for (const event of simulateEvents(cluster, events, options.seed + 1)) {
    for (const line of emitter.lines(event)) {
      yield line;
      if (++written >= options.flows) return;
    }
  }
  for (const line of emitter.flush?.() ?? []) {
    yield line;
    if (++written >= options.flows) return;
  }
}

/** Writes a simulation to a file atomically (temp file, then rename); gzip when it ends in .gz. */
export async function writeSimulation(
  options: SimulateOptions,
  outPath: string | undefined,
  stdout: Writable,
): Promise<number> {
  const tmp = outPath ? join(dirname(outPath), `.${basename(outPath)}.${process.pid}.tmp`) : undefined;
  const file = tmp ? createWriteStream(tmp) : undefined;
  const sink: Writable = file ? (outPath?.endsWith(".gz") ? createGzip({ level: 9 }) : file) : stdout;
  if (file && sink !== file) sink.pipe(file);
  let count = 0;
  try {
    let buffer = "";
    for (const line of simulateLines(options)) {
      buffer += `${line}\n`;
      count++;
      if (buffer.length > 1 << 20) {
        if (!sink.write(buffer)) await new Promise((resolve) => sink.once("drain", resolve));
        buffer = "";
      }
    }
    if (buffer) sink.write(buffer);
    if (file) {
      sink.end();
      await finished(file);
      renameSync(tmp as string, outPath as string);
    }
  } catch (err) {
    if (tmp) rmSync(tmp, { force: true });
    throw err;
  }
  return count;
}
