import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RunningGoldmaneReplayServer,
  startGoldmaneReplayServer,
} from "../../src/collect/goldmane/replay-server.js";
import { type Flow, FlowSchema } from "../../src/gen/goldmane/goldmane_pb.js";
import { GoldmaneEmitter } from "../../src/samples/emit-goldmane.js";
import { SCENARIOS } from "../../src/samples/online-boutique.js";
import { buildCluster, simulateEvents } from "../../src/samples/simulate.js";
import { runCli } from "../helpers/cli.js";
import { type RunningCli, startCli } from "../helpers/cli-async.js";
import { makeMtlsFiles } from "../helpers/mtls-certs.js";
import { tempDir } from "../helpers/paths.js";
import { spawnCli, waitForOutput } from "../helpers/processes.js";
import { storeContent } from "../helpers/store-tables.js";

/**
 * Torture of collectors and of the store's edges: `collect hubble` (from `flowpol replay-server`)
 * and `collect goldmane` (from its replay server) killed with kill -9 at random points and run
 * again, two collectors against one server at once, two runs storing overlapping files at once,
 * a disk that fills up, and a corpus of bad values. Each test runs for FLOWPOL_TORTURE_SECONDS
 * (default 60); only with FLOWPOL_TORTURE=1 (`npm run torture`). Figures are printed per test.
 */
const enabled = process.env.FLOWPOL_TORTURE === "1";
const budgetMs = Number(process.env.FLOWPOL_TORTURE_SECONDS ?? 60) * 1000;
const tmp = tempDir("flowpol-collect-torture-");
afterAll(() => tmp.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REFUSED = /being stored by another flowpol run/;

function flows(db: string): number {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).flows;
}

interface Figures {
  cycles: number;
  runs: number;
  kills: number;
  refused: number;
  lost: number;
  duplicated: number;
  differing: number;
}

function newFigures(): Figures {
  return { cycles: 0, runs: 0, kills: 0, refused: 0, lost: 0, duplicated: 0, differing: 0 };
}

/** Ends a cycle: compares the store with the clean one. */
function judge(figures: Figures, db: string, expectedFlows: number, expected: Record<string, string[]>): void {
  const got = flows(db);
  figures.lost += Math.max(0, expectedFlows - got);
  figures.duplicated += Math.max(0, got - expectedFlows);
  if (JSON.stringify(storeContent(db)) !== JSON.stringify(expected)) figures.differing++;
  figures.cycles++;
}

/** Starts one or two runs at once, kills one of them at a random point within `withinMs`. */
async function tortureStep(start: () => RunningCli, figures: Figures, withinMs: number): Promise<void> {
  const runs = [start()];
  figures.runs++;
  if (Math.random() < 0.4) {
    await sleep(Math.random() * 300);
    runs.push(start());
    figures.runs++;
  }
  await sleep(Math.random() * withinMs);
  const victim = runs[Math.floor(Math.random() * runs.length)];
  if (victim && victim.child.exitCode === null && Math.random() < 0.8) {
    victim.child.kill("SIGKILL");
    figures.kills++;
  }
  for (const r of runs) {
    const out = await r.done;
    expect(out.stderr).not.toMatch(/bug in flowpol|already exists|no such table/);
    if (out.code === 1) {
      expect(out.stderr).toMatch(REFUSED);
      figures.refused++;
    }
  }
}

describe.skipIf(!enabled)("collector and store-edge torture", () => {
  let hubbleFile: string;
  let hubbleFlows: number;
  let hubbleStore: Record<string, string[]>;

  beforeAll(() => {
    hubbleFile = join(tmp.dir, "hubble.jsonl");
    expect(runCli(["simulate", "--flows", "20000", "--out", hubbleFile]).code).toBe(0);
    const db = join(tmp.dir, "hubble-clean.db");
    expect(runCli(["ingest", "--db", db, hubbleFile]).code).toBe(0);
    hubbleFlows = flows(db);
    hubbleStore = storeContent(db);
  });

  it(
    "collect hubble: kill -9 at random points, two at once, then one more run: the store of a clean run",
    async () => {
      // Loading the file before it listens takes a while on a loaded machine.
      const replay = spawnCli(["replay-server", "--listen", "127.0.0.1:0", "--from", hubbleFile, "--rate", "8000"]);
      const port = Number((await waitForOutput(replay, /listening on 127\.0\.0\.1:(\d+)/, 120_000))[1]);
      const server = {
        port,
        stop: async () => {
          replay.child.kill("SIGTERM");
          await replay.exited;
        },
      };
      const figures = newFigures();
      try {
        const deadline = Date.now() + budgetMs;
        while (Date.now() < deadline) {
          const db = join(tmp.dir, `hubble-${figures.cycles}.db`);
          const args = ["collect", "hubble", "--server", `127.0.0.1:${server.port}`, "--db", db];
          const steps = 2 + Math.floor(Math.random() * 3);
          for (let step = 0; step < steps; step++) await tortureStep(() => startCli(args), figures, 2500);
          const last = runCli(args);
          figures.runs++;
          expect(last.code, last.stderr).toBe(0);
          judge(figures, db, hubbleFlows, hubbleStore);
        }
      } finally {
        await server.stop();
      }
      console.log(`collect hubble torture figures: ${JSON.stringify(figures)}`);
      expect(figures).toMatchObject({ lost: 0, duplicated: 0, differing: 0 });
    },
    budgetMs + 180_000,
  );

  it(
    "collect goldmane: kill -9 at random points, two at once, then one more run: the store of a clean run",
    async () => {
      const certs = makeMtlsFiles(tmp.dir);
      const scenario = SCENARIOS["online-boutique"] as NonNullable<(typeof SCENARIOS)[string]>;
      const cluster = buildCluster({ ...scenario, durationMs: 1800_000 }, 3);
      const emitter = new GoldmaneEmitter();
      const lines: string[] = [];
      for (const event of simulateEvents(cluster, 1500, 4)) lines.push(...emitter.lines(event));
      lines.push(...emitter.flush());
      const recorded = lines.map((l) => fromJson(FlowSchema, JSON.parse(l)));
      // Moved in time so that the recording ends two minutes ago, window-aligned (Goldmane holds an hour).
      const lastStart = Math.max(...recorded.map((f) => Number(f.startTime)));
      const end = Math.floor((Date.now() / 1000 - 120) / 15) * 15;
      const shift = BigInt(end - 15 - lastStart);
      const goldmaneFlows: Flow[] = recorded.map((f) => ({
        ...f,
        startTime: f.startTime + shift,
        endTime: f.endTime + shift,
      }));
      writeFileSync(
        join(tmp.dir, "goldmane.jsonl"),
        goldmaneFlows.map((f) => JSON.stringify(toJson(FlowSchema, f))).join("\n"),
      );
      const server: RunningGoldmaneReplayServer = await startGoldmaneReplayServer({
        flows: goldmaneFlows,
        credentials: ServerCredentials.createSsl(
          readFileSync(certs.caCert),
          [{ cert_chain: readFileSync(certs.serverCert), private_key: readFileSync(certs.serverKey) }],
          true,
        ),
        listen: "127.0.0.1:0",
      });
      const args = (db: string) => [
        "collect",
        "goldmane",
        "--db",
        db,
        "--server",
        `127.0.0.1:${server.port}`,
        "--tls-ca-cert-files",
        certs.caCert,
        "--tls-client-cert-file",
        certs.clientCert,
        "--tls-client-key-file",
        certs.clientKey,
        "--tls-server-name",
        "goldmane",
      ];
      const figures = newFigures();
      try {
        const cleanDb = join(tmp.dir, "goldmane-clean.db");
        const clean = await startCli(args(cleanDb)).done;
        expect(clean.code, clean.stderr).toBe(0);
        const expectedFlows = flows(cleanDb);
        const expected = storeContent(cleanDb);
        const deadline = Date.now() + budgetMs;
        while (Date.now() < deadline) {
          const db = join(tmp.dir, `goldmane-${figures.cycles}.db`);
          const steps = 2 + Math.floor(Math.random() * 3);
          for (let step = 0; step < steps; step++) await tortureStep(() => startCli(args(db)), figures, 1500);
          const last = await startCli(args(db)).done;
          figures.runs++;
          expect(last.code, last.stderr).toBe(0);
          judge(figures, db, expectedFlows, expected);
        }
      } finally {
        await server.close();
      }
      console.log(`collect goldmane torture figures: ${JSON.stringify(figures)}`);
      expect(figures).toMatchObject({ lost: 0, duplicated: 0, differing: 0 });
    },
    budgetMs + 180_000,
  );

  it(
    "overlapping exports stored at once, some runs killed: every flow counted once (uuid de-duplication)",
    async () => {
      const lines = readFileSync(hubbleFile, "utf8").split("\n").filter(Boolean);
      const third = Math.floor(lines.length / 3);
      const first = join(tmp.dir, "first.jsonl");
      const second = join(tmp.dir, "second.jsonl");
      writeFileSync(first, `${lines.slice(0, 2 * third).join("\n")}\n`);
      writeFileSync(second, `${lines.slice(third).join("\n")}\n`);
      const figures = newFigures();
      const deadline = Date.now() + budgetMs;
      while (Date.now() < deadline) {
        const db = join(tmp.dir, `overlap-${figures.cycles}.db`);
        for (let step = 0; step < 2; step++) {
          const runs = [startCli(["ingest", "--db", db, first]), startCli(["ingest", "--db", db, second])];
          figures.runs += 2;
          await sleep(Math.random() * 1500);
          const victim = runs[Math.floor(Math.random() * 2)];
          if (victim && victim.child.exitCode === null && Math.random() < 0.6) {
            victim.child.kill("SIGKILL");
            figures.kills++;
          }
          for (const r of runs) {
            const out = await r.done;
            expect(out.stderr).not.toMatch(/bug in flowpol|already exists|no such table/);
            if (out.code === 1) {
              expect(out.stderr).toMatch(REFUSED);
              figures.refused++;
            }
          }
        }
        const last = runCli(["ingest", "--db", db, first, second]);
        figures.runs++;
        expect(last.code, last.stderr).toBe(0);
        judge(figures, db, hubbleFlows, hubbleStore);
      }
      console.log(`overlapping inputs torture figures: ${JSON.stringify(figures)}`);
      expect(figures).toMatchObject({ lost: 0, duplicated: 0, differing: 0 });
    },
    budgetMs + 180_000,
  );

  it("disk full on a 2 MiB tmpfs: says so without a stack trace, the store stays readable, and resumes", () => {
    if (process.getuid?.() !== 0) {
      console.log("skipped: mounting a small tmpfs needs root");
      return;
    }
    const mnt = join(tmp.dir, "tmpfs");
    mkdirSync(mnt);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
    } catch {
      console.log("skipped: cannot mount a tmpfs here");
      return;
    }
    try {
      const db = join(mnt, "s.db");
      const big = join(tmp.dir, "big.jsonl");
      expect(runCli(["simulate", "--flows", "60000", "--out", big]).code).toBe(0);
      const full = runCli(["ingest", "--db", db, big]);
      expect(full.code).toBe(1);
      expect(full.stderr).toMatch(/disk full/);
      expect(full.stderr).not.toMatch(/bug in flowpol|\n\s+at /);
      const read = runCli(["stats", "--db", db]);
      expect(read.code, read.stderr).toBe(0);
      execFileSync("mount", ["-o", "remount,size=256m", mnt]);
      const done = runCli(["ingest", "--db", db, big]);
      expect(done.code, done.stderr).toBe(0);
      const cleanDb = join(tmp.dir, "big-clean.db");
      expect(runCli(["ingest", "--db", cleanDb, big]).code).toBe(0);
      expect(storeContent(db)).toEqual(storeContent(cleanDb));
      console.log("disk full torture: 1 run stopped by a full disk with a clear message, store readable, resumed");
    } finally {
      execFileSync("umount", ["-l", mnt]);
    }
  }, 300_000);

  it("a corpus of bad values: each line reported with its reason, none stored, the rest stored, generate runs", () => {
    const good = readFileSync(hubbleFile, "utf8").split("\n").filter(Boolean).slice(0, 2000);
    const base = JSON.parse(good.find((l) => l.includes('"TCP"') && l.includes('"source"')) as string);
    // biome-ignore lint/suspicious/noExplicitAny: hostile records are untyped
    type Json = Record<string, any>;
    const bad = (change: (flow: Json) => void): string => {
      const copy = JSON.parse(JSON.stringify(base)) as Json;
      change(copy.flow);
      return JSON.stringify(copy);
    };
    const corpus = [
      bad((f) => (f.l4.TCP.destination_port = 1.5)),
      bad((f) => (f.l4.TCP.destination_port = -1)),
      bad((f) => (f.l4.TCP.destination_port = "8080; rm -rf /")),
      bad((f) => (f.l4.TCP.destination_port = 70000)),
      bad((f) => (f.IP.source = "999.1.1.1")),
      bad((f) => (f.IP.destination = "10.0.0.1; DROP TABLE edges")),
      bad((f) => (f.source = null)),
      bad((f) => (f.destination = null)),
      bad((f) => (f.verdict = 99)),
      bad((f) => (f.verdict = "NOPE")),
      bad((f) => (f.time = "yesterday")),
      bad((f) => (f.source.namespace = "../../etc")),
      bad((f) => (f.uuid = 42)),
      `${"[".repeat(8000)}${"]".repeat(8000)}`,
      `{"flow": {"time": "2026-01-01T00:00:00Z", "verdict": "FORWARDED"`,
      "\u0000\u0001\u0002 binary",
      "not json at all",
    ];
    const lines = [...good];
    const at: number[] = [];
    for (const line of corpus) {
      const pos = Math.floor(Math.random() * lines.length);
      lines.splice(pos, 0, line);
    }
    lines.forEach((l, i) => {
      if (corpus.includes(l)) at.push(i + 1);
    });
    const file = join(tmp.dir, "hostile.jsonl");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const goodFile = join(tmp.dir, "good.jsonl");
    writeFileSync(goodFile, `${good.join("\n")}\n`);
    const db = join(tmp.dir, "hostile.db");
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/bug in flowpol|\n\s+at /);
    const stats = JSON.parse(runCli(["stats", "-o", "json", "--db", db]).stdout);
    const cleanDb = join(tmp.dir, "good.db");
    expect(runCli(["ingest", "--db", cleanDb, goodFile]).code).toBe(0);
    expect(stats.badLines).toBe(corpus.length);
    expect(storeContent(db)).toEqual(storeContent(cleanDb));
    const out = join(tmp.dir, "policies");
    const gen = runCli(["generate", "--db", db, "--out", out]);
    expect(gen.stderr).not.toMatch(/bug in flowpol|\n\s+at /);
    expect(gen.code, gen.stderr).toBe(0);
    console.log(
      `bad values torture: ${corpus.length} bad lines among ${good.length} good ones: ${stats.badLines} reported, 0 stored, generate exit 0`,
    );
  }, 300_000);
});
