import { Writable } from "node:stream";
import type { Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram, VERBS } from "../../src/cli/main.js";

const sink = () =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
const out = { stdout: sink(), stderr: sink() };

/** Every command that runs (the leaves), by its path: `graph`, `collect hubble`, ... */
function leaves(cmd: Command, path: string[] = []): Array<[string, Command]> {
  if (cmd.commands.length === 0) return [[path.join(" "), cmd]];
  return cmd.commands.flatMap((sub) => leaves(sub, [...path, sub.name()]));
}

const program = await buildProgram(out, [], true);
const commands = leaves(program).filter(([path]) => path !== "help");
const outputOf = (cmd: Command): Option | undefined => cmd.options.find((o) => o.long === "--output");

/** The commands without -o, and why (docs/cli.md). */
const NO_OUTPUT_FORMAT = ["simulate", "replay-server"];

describe("the command registry", () => {
  it("lists the verbs in pipeline order, each module saying what the registry says", async () => {
    expect(VERBS.map((v) => v.name)).toEqual([
      "collect",
      "ingest",
      "stats",
      "graph",
      "generate",
      "diff",
      "lint",
      "analyze",
      "report",
      "rollout",
      "verify",
      "simulate",
      "replay-server",
    ]);
    for (const verb of VERBS) {
      const cmd = (await verb.load()).define(out);
      expect(cmd.name()).toBe(verb.name);
      expect(cmd.description(), verb.name).toBe(verb.summary);
    }
  });

  it("loads only the verb that runs", async () => {
    const lazy = await buildProgram(out, ["stats", "--db", "x.db"]);
    const stats = lazy.commands.find((c) => c.name() === "stats");
    const graph = lazy.commands.find((c) => c.name() === "graph");
    expect(stats?.options.length).toBeGreaterThan(1);
    expect(graph?.options).toEqual([]);
  });
});

describe("the flag convention (docs/cli.md)", () => {
  it.each(commands)("%s: -o/--output names the output format, with json where data is printed", (path, cmd) => {
    const output = outputOf(cmd);
    if (NO_OUTPUT_FORMAT.includes(path)) {
      expect(output).toBeUndefined();
      return;
    }
    expect(output?.short, path).toBe("-o");
    expect(output?.flags).toBe("-o, --output <format>");
    // analyze diff mirrors netpol-analyzer, which has no JSON diff; report is a document.
    if (!["analyze diff", "report"].includes(path)) expect(output?.description).toMatch(/\bjson\b/);
  });

  it.each(commands)("%s: --out is a path, never a format; --json and an output --format are hidden", (_path, cmd) => {
    const out = cmd.options.find((o) => o.long === "--out");
    if (out) expect(out.flags).toMatch(/^--out <(file|dir)>$/);
    for (const o of cmd.options) {
      if (o.long === "--json") expect(o.hidden).toBe(true);
      if (o.long === "--format" && o.description.startsWith("deprecated")) expect(o.hidden).toBe(true);
    }
  });

  it.each(commands)("%s: help shows durations as written, never in milliseconds", (_path, cmd) => {
    for (const o of cmd.options) {
      if (!/<(duration|time)>/.test(o.flags)) continue;
      expect(typeof o.defaultValueDescription === "string" || o.defaultValue === undefined, o.flags).toBe(true);
      if (o.defaultValueDescription !== undefined) expect(o.defaultValueDescription).toMatch(/^\d+(ms|s|m|h|d|w)$/);
    }
  });

  it("help texts say what the flag does in that command", () => {
    const byPath = new Map(commands);
    const namespace = (path: string) => byPath.get(path)?.options.find((o) => o.long === "--namespace")?.description;
    expect(namespace("graph")).not.toMatch(/get policies/);
    expect(namespace("generate")).toMatch(/get policies/);
    expect(byPath.get("verify")?.description()).toMatch(/Calico/);
    expect(byPath.get("verify")?.options.find((o) => o.long === "--format")?.description).toMatch(/calico/);
  });
});
