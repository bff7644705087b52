#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { EXIT_CODES, toFlowpolError, UsageError } from "../errors.js";
import { type Output, processOutput, writeLine } from "./output.js";

/**
 * The command registry: one module per verb under ./commands owns its options, help and action;
 * this file lists the verbs in pipeline order, loads only the one that runs (the others stay out
 * of the start-up time), and is the one place that turns errors into exit codes:
 * 0 ok, 1 failure, 2 usage, 3 a check the user asked for failed.
 */

/** A verb's module: `define` builds its commander command (with subcommands, for a group). */
export interface VerbModule {
  define(out: Output): Command;
}

export interface Verb {
  name: string;
  /** The line `flowpol --help` shows; the module's own description must say the same. */
  summary: string;
  load(): Promise<VerbModule>;
}

export const VERBS: readonly Verb[] = [
  {
    name: "collect",
    summary: "stream flows from a live source (Hubble Relay, Calico Goldmane) into the store",
    load: () => import("./commands/collect.js"),
  },
  {
    name: "ingest",
    summary:
      "read flow files (Hubble JSON, exporter files, Calico flow logs, Goldmane and Whisker JSON; .gz; - for stdin) into the store",
    load: () => import("./commands/ingest.js"),
  },
  {
    name: "stats",
    summary: "summarise the store: flows, edges, workloads, namespaces, window, gaps, bad lines",
    load: () => import("./commands/stats.js"),
  },
  {
    name: "graph",
    summary: "the service dependency graph: workloads, platform entities, external peers",
    load: () => import("./commands/graph.js"),
  },
  {
    name: "generate",
    summary: "least-privilege NetworkPolicies from the observed flows, one folder per namespace",
    load: () => import("./commands/generate.js"),
  },
  {
    name: "diff",
    summary: "observed traffic against declared NetworkPolicies: allowed, denied, unprotected; unused rules; coverage",
    load: () => import("./commands/diff.js"),
  },
  {
    name: "lint",
    summary:
      "review NetworkPolicy manifests: split peers, missing DNS, allow-alls, flat trust, missing default deny...",
    load: () => import("./commands/lint.js"),
  },
  {
    name: "analyze",
    summary: "connectivity of Kubernetes manifests, in np-guard netpol-analyzer's formats",
    load: () => import("./commands/analyze.js"),
  },
  {
    name: "report",
    summary: "the discovery report: observation window and trust, graph, shared services, externals, drops",
    load: () => import("./commands/report.js"),
  },
  {
    name: "rollout",
    summary: "commit generated policies to a GitOps repository in staged waves, with the pull request text",
    load: () => import("./commands/rollout.js"),
  },
  {
    name: "verify",
    summary: "after a wave: every flow (Hubble or Calico) dropped or audited by policy since it began (exit 3 if any)",
    load: () => import("./commands/verify.js"),
  },
  {
    name: "simulate",
    summary: "write realistic flow records from a simulated cluster (to try flowpol, and for benchmarks)",
    load: () => import("./commands/simulate.js"),
  },
  {
    name: "replay-server",
    summary: "serve recorded Hubble flows over the Hubble Observer gRPC API (try flowpol without a cluster)",
    load: () => import("./commands/replay-server.js"),
  },
];

/** The verb an argument list runs (`flowpol help graph` runs graph's help), if any. */
function verbOf(argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith("-"));
  return words[0] === "help" ? words[1] : words[0];
}

/**
 * The program: every verb, loaded in full when `all` is set or when it is the one `argv` runs;
 * the others as their name and summary only (enough for `flowpol --help`).
 */
export async function buildProgram(out: Output, argv: readonly string[] = [], all = false): Promise<Command> {
  const program = new Command("flowpol")
    .description("Least-privilege Kubernetes NetworkPolicies from observed Hubble and Calico flows")
    .version("0.1.0");
  const wanted = verbOf(argv);
  for (const verb of VERBS) {
    if (all || verb.name === wanted) program.addCommand((await verb.load()).define(out));
    else program.command(verb.name).description(verb.summary);
  }
  configure(program, out, "flowpol");
  return program;
}

/** Commander settings for every command of the tree: errors return here, one line and a pointer to --help. */
function configure(cmd: Command, out: Output, path: string): void {
  cmd
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.stdout.write(s), writeErr: (s) => out.stderr.write(s) })
    .showHelpAfterError(`see '${path} --help'`);
  for (const sub of cmd.commands) configure(sub, out, `${path} ${sub.name()}`);
}

/** Runs the CLI and returns the exit code. */
export async function run(argv: string[], out: Output = processOutput()): Promise<number> {
  try {
    const program = await buildProgram(out, argv);
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_CODES.usage;
    const e = toFlowpolError(err);
    if (e instanceof UsageError || e.code !== "internal") {
      writeLine(out.stderr, `error: ${e.message}`);
    } else {
      writeLine(out.stderr, `internal error: ${e.message}`);
      if (e.cause instanceof Error && e.cause.stack) writeLine(out.stderr, e.cause.stack);
    }
    if (e.hint) writeLine(out.stderr, `  fix: ${e.hint}`);
    return EXIT_CODES[e.code];
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * A reader that stops early (`flowpol stats | head`) closes the pipe: the command still finishes
 * its work (an ingest stores everything it read); only its remaining output goes nowhere.
 */
function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
    });
  }
}

/**
 * Node exits 0 when nothing is left to run, even while a command still awaits (a promise nobody
 * will settle: a lost worker answer). That exit is turned into an internal error.
 */
export function failUnfinishedCommand(finished: () => boolean): void {
  process.once("beforeExit", () => {
    if (finished()) return;
    writeLine(
      process.stderr,
      "internal error: the command stopped before finishing (it waited on work that never answered); what it stored before is kept",
    );
    process.exitCode = EXIT_CODES.internal;
  });
}

if (isEntryPoint()) {
  ignoreClosedPipes();
  let finished = false;
  failUnfinishedCommand(() => finished);
  run(process.argv.slice(2)).then((code) => {
    finished = true;
    process.exitCode = code;
  });
}
