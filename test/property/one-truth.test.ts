import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FLAVOR_RUNS, type RunName, runWorld, type WorldRun } from "./pipeline.js";
import { buildProbes, type Probes } from "./probes.js";
import {
  addressesNotDenied,
  clonesDiffering,
  decisionsDifferingFromHubble,
  generateOverPermissive,
  overPermissive,
  unexplainedDenials,
} from "./properties.js";
import { waveFailures } from "./waves.js";
import { FORMATS, type World, worldArb } from "./world.js";

/**
 * Issue 14's promise as properties over random clusters, end to end through the CLI (ingest into
 * real SQLite stores, generate, `flowpol diff`). Slow: FLOWPOL_PBT_RUNS sets the number of worlds
 * (default 5), FLOWPOL_PBT_SEED the seed.
 */
const RUNS = Number(process.env.FLOWPOL_PBT_RUNS ?? 5);
/** Rollouts cost a git repository and a diff per wave and store: fewer worlds (FLOWPOL_PBT_WAVE_RUNS). */
const WAVE_RUNS = Number(process.env.FLOWPOL_PBT_WAVE_RUNS ?? 1);
const SEED = Number(process.env.FLOWPOL_PBT_SEED ?? 1414);
const TIMEOUT = 600_000;

const cache = new Map<string, Promise<WorldRun>>();
function run(world: World): Promise<WorldRun> {
  const key = JSON.stringify(world);
  let r = cache.get(key);
  if (!r) {
    r = runWorld(world);
    cache.set(key, r);
  }
  return r;
}
const probeCache = new Map<string, Promise<Probes>>();
async function probes(world: World): Promise<Probes> {
  const key = JSON.stringify(world);
  let p = probeCache.get(key);
  if (!p) {
    const dir = (await run(world)).dir;
    p = buildProbes(world, dir);
    probeCache.set(key, p);
  }
  return p;
}
afterAll(async () => {
  for (const r of cache.values()) (await r).cleanup();
});

/** Every source, and the Hubble source's policies in flowpol's other flavors. */
const RUN_NAMES: readonly RunName[] = [...FORMATS, ...FLAVOR_RUNS];

const params = { numRuns: RUNS, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: TIMEOUT - 60_000 };

describe("property: every observed connection is allowed (or listed with a reason), per source and flavor", () => {
  for (const format of RUN_NAMES) {
    it(
      format,
      async () => {
        await fc.assert(
          fc.asyncProperty(worldArb, async (world) => {
            expect(unexplainedDenials(await run(world), format)).toEqual([]);
          }),
          params,
        );
      },
      TIMEOUT,
    );
  }
});

describe("property: no unobserved pair of workloads (pods created later among them) is allowed except through a named exception, per source and flavor", () => {
  for (const format of RUN_NAMES) {
    it(
      format,
      async () => {
        await fc.assert(
          fc.asyncProperty(worldArb, async (world) => {
            const r = await run(world);
            expect(await overPermissive(await probes(world), r, format)).toEqual([]);
            expect(generateOverPermissive(r, format)).toEqual([]);
          }),
          params,
        );
      },
      TIMEOUT,
    );
  }
});

describe("property: unobserved addresses are denied (external, nodes on port 53, unseen nodes, NodeLocal DNS off 53), per source and flavor", () => {
  for (const format of RUN_NAMES) {
    it(
      format,
      async () => {
        await fc.assert(
          fc.asyncProperty(worldArb, async (world) => {
            expect(await addressesNotDenied(await probes(world), await run(world), format)).toEqual([]);
          }),
          params,
        );
      },
      TIMEOUT,
    );
  }
});

describe("property: a pod created later with a workload's labels gets the workload's access, per source and flavor", () => {
  for (const format of RUN_NAMES) {
    it(
      format,
      async () => {
        await fc.assert(
          fc.asyncProperty(worldArb, async (world) => {
            expect(await clonesDiffering(await probes(world), await run(world), format)).toEqual([]);
          }),
          params,
        );
      },
      TIMEOUT,
    );
  }
});

describe("property: every source and flavor yields the same decisions", () => {
  for (const format of RUN_NAMES.filter((f) => f !== "hubble")) {
    it(
      `${format} vs hubble`,
      async () => {
        await fc.assert(
          fc.asyncProperty(worldArb, async (world) => {
            expect(await decisionsDifferingFromHubble(await run(world), format)).toEqual([]);
          }),
          params,
        );
      },
      TIMEOUT,
    );
  }
});

describe("property: every rollout wave is safe for observed connections and the probes, per source and flavor", () => {
  for (const format of RUN_NAMES) {
    it(
      format,
      async () => {
        await fc.assert(
          fc.asyncProperty(worldArb, async (world) => {
            expect(await waveFailures(await run(world), format, await probes(world))).toEqual([]);
          }),
          { ...params, numRuns: WAVE_RUNS },
        );
      },
      TIMEOUT,
    );
  }
});
