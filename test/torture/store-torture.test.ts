import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { startCli } from "../helpers/cli-async.js";
import { tempDir } from "../helpers/paths.js";
import { storeContent } from "../helpers/store-tables.js";

/**
 * The store's torture suite: kill -9 at random points, concurrent and staggered runs of one input,
 * each cycle finished by one clean run and compared with a store built by a single run. Bounded
 * by FLOWPOL_TORTURE_SECONDS (default 60); runs only with FLOWPOL_TORTURE=1 (`npm run torture`).
 * Collectors, overlapping inputs, disk full and bad values: collect-torture.test.ts.
 */
const enabled = process.env.FLOWPOL_TORTURE === "1";
const budgetMs = Number(process.env.FLOWPOL_TORTURE_SECONDS ?? 60) * 1000;
const tmp = tempDir("flowpol-torture-");
afterAll(() => tmp.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function flows(db: string): number {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).flows;
}

describe.skipIf(!enabled)("store torture", () => {
  it(
    "loses nothing and counts nothing twice",
    async () => {
      const file = join(tmp.dir, "flows.jsonl");
      expect(runCli(["simulate", "--flows", "30000", "--out", file]).code).toBe(0);
      const cleanDb = join(tmp.dir, "clean.db");
      expect(runCli(["ingest", "--db", cleanDb, file]).code).toBe(0);
      const expected = flows(cleanDb);
      const expectedStore = storeContent(cleanDb);
      const figures = { cycles: 0, runs: 0, kills: 0, refused: 0, lost: 0, duplicated: 0, differing: 0 };
      const deadline = Date.now() + budgetMs;
      while (Date.now() < deadline) {
        const db = join(tmp.dir, `cycle-${figures.cycles}.db`);
        for (let step = 0; step < 4; step++) {
          if (Math.random() < 0.5) {
            // kill -9 at a random point
            const run = startCli(["ingest", "--db", db, file]);
            figures.runs++;
            await sleep(Math.random() * 1500);
            if (run.child.exitCode === null) {
              run.child.kill("SIGKILL");
              figures.kills++;
            }
            await run.done;
          } else {
            // two or three runs at once, staggered by up to 0.5 s, one of them perhaps killed
            const n = 2 + Math.floor(Math.random() * 2);
            const runs = [];
            for (let i = 0; i < n; i++) {
              runs.push(startCli(["ingest", "--db", db, file]));
              figures.runs++;
              await sleep(Math.random() * 500);
            }
            if (Math.random() < 0.3) {
              const victim = runs[Math.floor(Math.random() * n)];
              if (victim && victim.child.exitCode === null) {
                victim.child.kill("SIGKILL");
                figures.kills++;
              }
            }
            for (const r of runs) {
              const out = await r.done;
              if (out.code !== 0 && out.code !== -1) {
                expect(out.stderr).toMatch(/being stored by another flowpol run/);
                figures.refused++;
              }
              expect(out.stderr).not.toMatch(/bug in flowpol|already exists/);
            }
          }
        }
        const last = runCli(["ingest", "--db", db, file]);
        figures.runs++;
        expect(last.code, last.stderr).toBe(0);
        const got = flows(db);
        figures.lost += Math.max(0, expected - got);
        figures.duplicated += Math.max(0, got - expected);
        if (JSON.stringify(storeContent(db)) !== JSON.stringify(expectedStore)) figures.differing++;
        figures.cycles++;
      }
      console.log(`torture figures: ${JSON.stringify(figures)}`);
      expect(figures.lost).toBe(0);
      expect(figures.duplicated).toBe(0);
      expect(figures.differing).toBe(0);
    },
    budgetMs + 120_000,
  );
});
