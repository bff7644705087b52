import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  type DiffEdge,
  diffJson,
  edgeLine,
  outOfScope,
  probeUnobserved,
  purposes,
  runWorld,
  type WorldRun,
} from "./pipeline.js";
import { FORMATS, type Format, type World, worldArb } from "./world.js";

/**
 * Issue 14's promise as properties over random clusters, end to end through the CLI (ingest into
 * real SQLite stores, generate, `flowpol diff`). Slow: FLOWPOL_PBT_RUNS sets the number of worlds
 * (default 3), FLOWPOL_PBT_SEED the seed. Properties that fail on known bugs run only with
 * FLOWPOL_PENDING_14=1 (see the report of issue 14).
 */
const RUNS = Number(process.env.FLOWPOL_PBT_RUNS ?? 3);
const SEED = Number(process.env.FLOWPOL_PBT_SEED ?? 1414);
const PENDING = process.env.FLOWPOL_PENDING_14 === "1";
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

/** Every observed connection allowed, or listed by generate (`not allowed: ...`) with its reason. */
export function unexplainedDenials(r: WorldRun, format: Format): string[] {
  const listed = r.runs[format].generate.stderr.split("\n").filter((l) => l.startsWith("not allowed: "));
  return r.runs[format].diff.edges
    .filter((e) => e.status === "denied")
    .filter(
      (e) =>
        !listed.some(
          (l) =>
            l.includes(`${e.protocol}/${e.port}`) && (l.includes(ipOf(e.destination)) || l.includes(ipOf(e.source))),
        ),
    )
    .map(edgeLine);
}
const ipOf = (id: string) => /(\d+\.\d+\.\d+\.\d+)/.exec(id)?.[1] ?? "\u0000";

/** Unobserved connections the policies allow through no named exception (shared service, DNS). */
export async function overPermissive(world: World, r: WorldRun, format: Format): Promise<string[]> {
  if (r.runs[format].generate.code !== 0) return [`generate failed: ${r.runs[format].generate.stderr}`];
  const probe = await probeUnobserved(world, r.dir);
  const purpose = purposes(r.runs[format].out);
  const { edges } = await diffJson(probe.store, r.runs[format].out, false);
  const exception = (e: DiffEdge) =>
    [...e.egress.rules, ...e.ingress.rules].some((rule) =>
      ["dns", "shared"].includes(purpose.get(`${rule.namespace}/${rule.policy}`) ?? ""),
    );
  return edges
    .filter(
      (e) =>
        (e.status === "allowed" && !exception(e)) ||
        (e.status === "unprotected" && !(outOfScope(e.source) && outOfScope(e.destination))),
    )
    .map(edgeLine);
}

/** The verdicts on the Hubble store of the policies generated from another source. */
export async function verdictsOnHubble(r: WorldRun, format: Format): Promise<string[]> {
  const { edges } = await diffJson(r.runs.hubble.store, r.runs[format].out, false);
  return edges.map(edgeLine).sort();
}

/** Sources whose properties hold today; the others wait for issue 14's identity fixes. */
const soundToday: readonly Format[] = ["hubble", "calico-level0"];

describe("property: every observed connection is allowed (or listed with a reason), per source", () => {
  for (const format of FORMATS) {
    const pending = !soundToday.includes(format);
    it.runIf(!pending || PENDING)(
      `${format}${pending ? " (pending issue 14)" : ""}`,
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
    const pending = !soundToday.includes(format);
    it.runIf(!pending || PENDING)(
      `${format} vs hubble${pending ? " (pending issue 14)" : ""}`,
      async () => {
        await fc.assert(
          fc.asyncProperty(worldArb, async (world) => {
            const r = await run(world);
            expect(await verdictsOnHubble(r, format)).toEqual(await verdictsOnHubble(r, "hubble"));
          }),
          params,
        );
      },
      TIMEOUT,
    );
  }
});
