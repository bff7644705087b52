import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";
import { type ReplayServer, startHubbleReplayServer } from "../helpers/processes.js";

/**
 * docs/cli.md as a user meets it: -o json everywhere with ISO 8601 times, the old spellings with
 * one deprecation line, and errors said once, with the fix, before anything is touched.
 */

const SAMPLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
const tmp = tempDir("flowpol-cli-");
const db = join(tmp.dir, "s.db");
const policies = join(tmp.dir, "policies");

beforeAll(() => {
  const r = runCli(["ingest", "--db", db, SAMPLE]);
  expect(r.code, r.stderr).toBe(0);
  expect(runCli(["generate", "--db", db, "--out", policies]).code).toBe(0);
});
afterAll(() => tmp.cleanup());

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{9})?Z$/;
const TIME_KEY = /^(first|last|since|until|time|resumedFrom|.*(Time|At))$/;

/** Every time in a JSON value: ISO strings under time-like keys, and no epoch numbers or {seconds, nanos} anywhere. */
function expectIsoTimes(value: unknown, where = "$"): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) expectIsoTimes(v, `${where}[${i}]`);
    return;
  }
  if (value === null || typeof value !== "object") {
    if (typeof value === "number") expect(value < 1e11 || value > 1e14, `${where} looks like epoch ms`).toBe(true);
    return;
  }
  const keys = Object.keys(value);
  expect(keys.includes("seconds") && keys.includes("nanos"), `${where} is {seconds, nanos}`).toBe(false);
  for (const [k, v] of Object.entries(value)) {
    if (TIME_KEY.test(k) && v !== null && typeof v !== "object") expect(v, `${where}.${k}`).toMatch(ISO);
    expectIsoTimes(v, `${where}.${k}`);
  }
}

function json(args: string[], codes = [0]): unknown {
  const r = runCli(args);
  expect(codes, r.stderr).toContain(r.code);
  return JSON.parse(r.stdout);
}

describe("-o json, with ISO 8601 times", () => {
  it.each([
    ["stats", ["stats", "--db", db, "-o", "json"]],
    ["graph", ["graph", "--db", db, "-o", "json"]],
    ["ingest", ["ingest", "--db", db, SAMPLE, "-o", "json"]],
    ["generate", ["generate", "--db", db, "--out", policies, "-o", "json"]],
    ["diff", ["diff", "--db", db, "--policies", policies, "-o", "json"]],
    ["lint", ["lint", policies, "-o", "json", "--fail-on", "never"]],
  ])("%s", (_name, args) => {
    const value = json(args);
    expect(value).toBeTypeOf("object");
    expectIsoTimes(value);
  });

  it("verify: first and last of each finding, and since", () => {
    const value = json(["verify", SAMPLE, "--since", "2020-01-01", "-o", "json"], [0, 3]) as {
      since: string;
      findings: Array<{ first: string; last: string }>;
    };
    expect(value.findings.length).toBeGreaterThan(0);
    expect(value.since).toBe("2020-01-01T00:00:00.000Z");
    expectIsoTimes(value);
  });

  it("graph: first and last of the nodes", () => {
    const g = json(["graph", "--db", db, "-o", "json"]) as { nodes: Array<{ first: string; last: string }> };
    expect(g.nodes[0]?.first).toMatch(ISO);
  });

  describe("collect hubble", () => {
    let server: ReplayServer | undefined;
    beforeAll(async () => {
      server = await startHubbleReplayServer(["--from", SAMPLE]);
    });
    afterAll(async () => {
      await server?.stop();
    });
    it("-o json, and a second run's resumedFrom as ISO 8601 to the nanosecond", () => {
      const store = join(tmp.dir, "collect.db");
      const args = ["collect", "hubble", "--server", `127.0.0.1:${server?.port}`, "--db", store, "-o", "json"];
      expectIsoTimes(json(args));
      const again = json(args) as { resumedFrom: string };
      expect(again.resumedFrom).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
      expectIsoTimes(again);
    });
  });
});

describe("old spellings", () => {
  it("--json still works and says once that it is deprecated", () => {
    const r = runCli(["stats", "--db", db, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).flows).toBeGreaterThan(0);
    expect(r.stderr).toBe("warning: --json is deprecated: use -o json\n");
  });

  it("an output --format still works and says once that it is deprecated", () => {
    const r = runCli(["graph", "--db", db, "--format", "mermaid"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^flowchart LR/);
    expect(r.stderr.match(/--format is deprecated: use -o mermaid/g)).toHaveLength(1);
  });

  it.each([
    ["graph", "graph.html"],
    ["report", "REPORT.md"],
  ])("%s -o FILE is refused with the fix, and writes nothing", (verb, file) => {
    const target = join(tmp.dir, file);
    const r = runCli([verb, "--db", db, "-o", target]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`to write a file, use --out ${target}`);
    expect(existsSync(target)).toBe(false);
  });

  it("simulate -o FILE is refused with the fix", () => {
    const r = runCli(["simulate", "--flows", "10", "-o", join(tmp.dir, "x.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("write the file with --out");
  });
});

describe("errors, said once", () => {
  const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("error:"));

  it.each([
    ["a bad -o", ["graph", "--db", db, "-o", "png"], /-o "png" is not an output format/],
    ["a bad input --format", ["ingest", "--db", join(tmp.dir, "new.db"), "--format", "pcap", SAMPLE], /pcap/],
    ["a bad duration", ["collect", "hubble", "--db", join(tmp.dir, "new.db"), "--duration", "12000"], /12000/],
    ["a bad time", ["graph", "--db", db, "--since", "2026-01-02T10:00:00"], /needs its zone/],
  ])("%s: exit 2, one error line with its fix, no help, no store created", (_name, args, message) => {
    const r = runCli(args);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("  fix: ");
    expect(r.stderr).not.toContain("Options:");
    expect(r.stdout).toBe("");
    expect(existsSync(join(tmp.dir, "new.db"))).toBe(false);
  });

  it("an unknown option: one line and where the help is, not the help", () => {
    const r = runCli(["graph", "--db", db, "--colour"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: unknown option '--colour'\nsee 'flowpol graph --help'\n");
  });

  it("a missing required option: one line and where the help is", () => {
    const r = runCli(["collect", "hubble", "--db", db, "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("see 'flowpol collect hubble --help'");
    expect(r.stderr).not.toContain("Options:");
  });

  it("a single input that fails is said once", () => {
    const r = runCli(["ingest", "--db", join(tmp.dir, "one.db"), join(tmp.dir, "missing.jsonl")]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/missing\.jsonl/g)).toHaveLength(1);
    expect(errorLines(r.stderr)).toHaveLength(1);
  });

  it("with several inputs each failed one is named and the last line counts them", () => {
    const r = runCli(["ingest", "--db", join(tmp.dir, "two.db"), join(tmp.dir, "gone.jsonl"), SAMPLE]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/gone\.jsonl/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/error: 1 of 2 inputs failed \(named above\); \d+ flows were stored from the others/);
  });

  it("generate --out /proc/x fails at once, naming the folder", () => {
    if (!existsSync("/proc/self")) return;
    const started = Date.now();
    const r = runCli(["generate", "--db", db, "--out", "/proc/x/policies"]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot create the output folder /proc/x/policies");
  });

  it("generate --out - is refused: it writes a folder", () => {
    const r = runCli(["generate", "--db", db, "--out", "-"], { cwd: tmp.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--out - is not one");
    expect(readdirSync(tmp.dir)).not.toContain("-");
  });

  it("report --out - is stdout", () => {
    const r = runCli(["report", "--db", db, "--out", "-"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# /m);
  });

  it("simulate --out writes the file", () => {
    const file = join(tmp.dir, "sim.jsonl");
    expect(runCli(["simulate", "--flows", "10", "--out", file]).code).toBe(0);
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(10);
  });
});
