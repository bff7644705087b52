import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { runWorld, type WorldRun } from "./pipeline.js";
import { decisionsDifferingFromHubble, overPermissive, unexplainedDenials } from "./properties.js";
import { FORMATS, type World, worldArb } from "./world.js";

/**
 * Issue 14's promise as properties over random clusters, end to end through the CLI (ingest into
 * real SQLite stores, generate, `flowpol diff`). Slow: FLOWPOL_PBT_RUNS sets the number of worlds
 * (default 5), FLOWPOL_PBT_SEED the seed.
 */
const RUNS = Number(process.env.FLOWPOL_PBT_RUNS ?? 5);
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
afterAll(async () => {
  for (const r of cache.values()) (await r).cleanup();
});

const params = { numRuns: RUNS, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: TIMEOUT - 60_000 };

describe("property: every observed connection is allowed (or listed with a reason), per source", () => {
  for (const format of FORMATS) {
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

describe("property: no unobserved pair of workloads is allowed except through a named exception", () => {
  it(
    "hubble",
    async () => {
      await fc.assert(
        fc.asyncProperty(worldArb, async (world) => {
          expect(await overPermissive(world, await run(world), "hubble")).toEqual([]);
        }),
        params,
      );
    },
    TIMEOUT,
  );
});

describe("property: every source yields the same decisions", () => {
  for (const format of FORMATS.filter((f) => f !== "hubble")) {
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
