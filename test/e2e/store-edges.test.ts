import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../../src/store/sqlite.js";
import { runCli } from "../helpers/cli.js";
import { startCli } from "../helpers/cli-async.js";
import { SHARED_HUBBLE, tempDir } from "../helpers/paths.js";
import { startHubbleReplayServer } from "../helpers/processes.js";
import { sharedFiles, sharedMissing } from "../helpers/shared.js";
import { storeContent } from "../helpers/store-tables.js";

const tmp = tempDir("flowpol-store-edges-");
afterAll(() => tmp.cleanup());

const REFUSED = /being stored by another flowpol run/;
const itWithCapture = it.skipIf(sharedMissing([SHARED_HUBBLE]) !== undefined);
let bigFile: string;
let cleanFlows: number;
let cleanStore: Record<string, string[]>;

function flows(db: string): number {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).flows;
}

function query<T>(db: string, sql: string): T[] {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return conn.prepare(sql).all() as T[];
  } finally {
    conn.close();
  }
}

beforeAll(() => {
  bigFile = join(tmp.dir, "big.jsonl");
  expect(runCli(["simulate", "--flows", "60000", "--out", bigFile]).code).toBe(0);
  const db = join(tmp.dir, "clean.db");
  expect(runCli(["ingest", "--db", db, bigFile]).code).toBe(0);
  cleanFlows = flows(db);
  cleanStore = storeContent(db);
});

/** Every run either stored its share or refused with the lease message; nothing else. */
function expectStoredOrRefused(r: { code: number; stderr: string }): void {
  if (r.code !== 0) expect(r.stderr).toMatch(REFUSED);
  expect(r.stderr).not.toMatch(/already exists|bug in flowpol|at .*\.js:\d+/);
}

describe("concurrent ingests of one input", () => {
  it("into a fresh store at once: migrated once, the input counted once", async () => {
    const db = join(tmp.dir, "together.db");
    const runs = await Promise.all([1, 2, 3].map(() => startCli(["ingest", "--db", db, bigFile]).done));
    for (const r of runs) expectStoredOrRefused(r);
    expect(runs.some((r) => r.code === 0)).toBe(true);
    // The refused runs, run again, resume: nothing is added twice.
    const again = runCli(["ingest", "--db", db, bigFile]);
    expect(again.code, again.stderr).toBe(0);
    expect(flows(db)).toBe(cleanFlows);
    expect(storeContent(db)).toEqual(cleanStore);
  });

  it("staggered: the second refuses while the first holds the input, and a re-run adds nothing", async () => {
    const db = join(tmp.dir, "staggered.db");
    const first = startCli(["ingest", "--db", db, bigFile]);
    await new Promise((r) => setTimeout(r, 700));
    const second = await startCli(["ingest", "--db", db, bigFile]).done;
    expectStoredOrRefused(second);
    expectStoredOrRefused(await first.done);
    expect(runCli(["ingest", "--db", db, bigFile]).code).toBe(0);
    expect(flows(db)).toBe(cleanFlows);
  });

  it("a copy at another path is the same content: refused while the first runs", async () => {
    const db = join(tmp.dir, "copy.db");
    const copy = join(tmp.dir, "copy.jsonl");
    writeFileSync(copy, readFileSync(bigFile));
    const runs = await Promise.all([bigFile, copy].map((f) => startCli(["ingest", "--db", db, f]).done));
    for (const r of runs) expectStoredOrRefused(r);
  });
});

describe("a growing file", () => {
  it("resumes at the last complete line: the line unfinished at the first ingest is stored once complete", () => {
    const whole = readFileSync(bigFile, "utf8").split("\n").slice(0, 100).join("\n") + "\n";
    const file = join(tmp.dir, "growing.jsonl");
    writeFileSync(file, whole.slice(0, whole.length - 40));
    const db = join(tmp.dir, "growing.db");
    const first = runCli(["ingest", "--db", db, file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/growing\.jsonl:100: the last line has no newline/);
    appendFileSync(file, whole.slice(whole.length - 40));
    const second = runCli(["ingest", "--db", db, file]);
    expect(second.code, second.stderr).toBe(0);
    const all = join(tmp.dir, "growing-clean.db");
    expect(runCli(["ingest", "--db", all, file]).code).toBe(0);
    expect(flows(db)).toBe(flows(all));
    expect(storeContent(db)).toEqual(storeContent(all));
  });
});

describe("a run killed before its first commit", () => {
  it("is marked failed by the next run, not left running", async () => {
    const db = join(tmp.dir, "stale.db");
    const small = join(tmp.dir, "small.jsonl");
    // The big file's first 200 lines (more than the 64 KiB head): the big file resumes after them.
    writeFileSync(small, `${readFileSync(bigFile, "utf8").split("\n").slice(0, 200).join("\n")}\n`);
    expect(runCli(["ingest", "--db", db, small]).code).toBe(0);
    // A run whose row is written and bound to its lease, then killed: the row is `running`.
    const run = startCli(["ingest", "--db", db, "--workers", "1", bigFile]);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const rows = query<{ n: number }>(db, "SELECT count(*) AS n FROM ingests WHERE status = 'running'");
      if ((rows[0]?.n ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    run.child.kill("SIGKILL");
    await run.done;
    const next = runCli(["ingest", "--db", db, small]);
    expect(next.code, next.stderr).toBe(0);
    expect(query(db, "SELECT id FROM ingests WHERE status = 'running'")).toEqual([]);
    const rerun = runCli(["ingest", "--db", db, bigFile]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(flows(db)).toBe(cleanFlows);
    expect(storeContent(db)).toEqual(cleanStore);
  });
});

describe("store edges", () => {
  const hubbleSample = () => join(SHARED_HUBBLE, sharedFiles(SHARED_HUBBLE, ".jsonl")[0] as string);

  it("refuses a foreign SQLite database and adds nothing to it", () => {
    const db = join(tmp.dir, "foreign.db");
    const conn = new Database(db);
    conn.exec("CREATE TABLE invoices (id INTEGER)");
    conn.close();
    for (const args of [
      ["ingest", "--db", db, bigFile],
      ["stats", "--db", db],
    ]) {
      const r = runCli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/foreign\.db is a SQLite database, but not a flowpol store/);
    }
    expect(query<{ name: string }>(db, "SELECT name FROM sqlite_schema").map((r) => r.name)).toEqual(["invoices"]);
  });

  it("says an empty store is empty to readers, and an ingest repairs it", () => {
    const db = join(tmp.dir, "empty.db");
    writeFileSync(db, "");
    const stats = runCli(["stats", "--db", db]);
    expect(stats.code).toBe(1);
    expect(stats.stderr).toMatch(/empty\.db is an empty store: it has no flowpol tables/);
    expect(runCli(["ingest", "--db", db, bigFile]).code).toBe(0);
    expect(flows(db)).toBe(cleanFlows);
  });

  it("says a file that is not SQLite is not a SQLite database", () => {
    const db = join(tmp.dir, "text.db");
    writeFileSync(db, "hello, this is not a database at all, but long enough to have a header".repeat(10));
    const r = runCli(["stats", "--db", db]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/text\.db is not a SQLite database/);
  });

  itWithCapture(
    "says a store locked by another process for too long is busy, not a bug",
    async () => {
      const db = join(tmp.dir, "busy.db");
      expect(runCli(["ingest", "--db", db, bigFile]).code).toBe(0);
      const holder = new Database(db);
      holder.exec("BEGIN EXCLUSIVE");
      try {
        const r = await startCli(["ingest", "--db", db, hubbleSample()]).done;
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/store busy/);
        expect(r.stderr).not.toMatch(/bug in flowpol/);
      } finally {
        holder.exec("ROLLBACK");
        holder.close();
      }
    },
    40_000,
  );

  it("a failed collect leaves no store file", () => {
    const dir = join(tmp.dir, "collect-failed");
    mkdirSync(dir);
    const r = runCli(["collect", "hubble", "--server", "127.0.0.1:1", "--db", join(dir, "s.db")]);
    expect(r.code).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  itWithCapture("says a read-only store is read-only", () => {
    const dir = join(tmp.dir, "ro");
    mkdirSync(dir);
    const db = join(dir, "s.db");
    expect(runCli(["ingest", "--db", db, bigFile]).code).toBe(0);
    // Permissions do not bind root: as root, the store's directory is bind-mounted read-only instead.
    const asRoot = process.getuid?.() === 0;
    let place = dir;
    if (asRoot) {
      place = join(tmp.dir, "ro-mount");
      mkdirSync(place);
      try {
        execFileSync("mount", ["--bind", dir, place]);
        execFileSync("mount", ["-o", "remount,bind,ro", place]);
      } catch {
        console.log("skipped: cannot make a read-only bind mount here");
        return;
      }
    } else {
      chmodSync(db, 0o444);
      chmodSync(dir, 0o555);
    }
    try {
      const write = runCli(["ingest", "--db", join(place, "s.db"), hubbleSample()]);
      expect(write.code).toBe(1);
      expect(write.stderr).toMatch(
        /is (on a read-only file system|in a directory flowpol cannot write): this command writes/,
      );
      expect(write.stderr).not.toMatch(/bug in flowpol|at .*\.js:\d+/);
      // Reading a WAL store needs its -shm file beside it: a clear message, no stack trace.
      const read = runCli(["stats", "--db", join(place, "s.db")]);
      if (read.code !== 0) expect(read.stderr).toMatch(/cannot read the store .*copy the store to a writable place/s);
      else expect(read.stdout).toMatch(/flows/);
      expect(flows(db)).toBe(cleanFlows);
    } finally {
      if (asRoot) execFileSync("umount", ["-l", place]);
      else chmodSync(dir, 0o755);
    }
  });
});

describe("disk full (root only: a small tmpfs)", () => {
  it("says disk full, keeps the store consistent, and a run with room completes it", () => {
    if (process.getuid?.() !== 0) {
      console.log("skipped: mounting a small tmpfs needs root");
      return;
    }
    const mnt = join(tmp.dir, "tmpfs");
    mkdirSync(mnt);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=12k", "tmpfs", mnt]);
    } catch {
      console.log("skipped: cannot mount a tmpfs here");
      return;
    }
    try {
      const db = join(mnt, "s.db");
      // Too small even to create the store: the half-created file is repaired later.
      const create = runCli(["ingest", "--db", db, bigFile]);
      expect(create.code).toBe(1);
      expect(create.stderr).toMatch(/disk full/);
      expect(create.stderr).not.toMatch(/bug in flowpol|no such table/);
      execFileSync("mount", ["-o", "remount,size=600k", mnt]);
      const part = runCli(["ingest", "--db", db, bigFile]);
      expect(part.stderr).not.toMatch(/bug in flowpol|no such table/);
      if (part.code !== 0) expect(part.stderr).toMatch(/disk full/);
      execFileSync("mount", ["-o", "remount,size=64m", mnt]);
      const done = runCli(["ingest", "--db", db, bigFile]);
      expect(done.code, done.stderr).toBe(0);
      expect(flows(db)).toBe(cleanFlows);
      expect(storeContent(db)).toEqual(cleanStore);
    } finally {
      execFileSync("umount", ["-l", mnt]);
    }
  });
});

describe("concurrent collections of one server", () => {
  itWithCapture(
    "the second refuses while the first holds the cursor; together they count every flow once",
    async () => {
      const samples = sharedFiles(SHARED_HUBBLE, ".jsonl").map((f) => join(SHARED_HUBBLE, f));
      const fileDb = join(tmp.dir, "collect-file.db");
      expect(runCli(["ingest", "--db", fileDb, ...samples]).code).toBe(0);
      const server = await startHubbleReplayServer(["--from", ...samples, "--rate", "200"]); // slow enough that the first run still holds the cursor when the second starts
      try {
        const db = join(tmp.dir, "collect.db");
        const args = ["collect", "hubble", "--server", `127.0.0.1:${server.port}`, "--db", db];
        const first = startCli(args);
        await new Promise((r) => setTimeout(r, 300));
        const second = await startCli(args).done;
        const one = await first.done;
        // Which one starts first is up to the scheduler: one collects, the other refuses.
        for (const r of [one, second]) expectStoredOrRefused(r);
        expect([one.code, second.code].sort()).toEqual([0, 1]);
        expect(flows(db)).toBe(flows(fileDb));
      } finally {
        await server.stop();
      }
    },
    120_000,
  );
});
