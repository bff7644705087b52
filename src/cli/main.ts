#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { EXIT_CODES, toFlowpolError, UsageError } from "../errors.js";
import { resolveDbPath } from "../store/db.js";
import { parseDurationFlag } from "./duration-flag.js";
import { type Output, processOutput, writeLine } from "./output.js";

/**
 * The thin command layer: parses flags, then calls a plain async command function. Only this file
 * turns errors into exit codes: 0 ok, 1 failure, 2 usage, 3 a check the user asked for failed.
 */

export function parseIntFlag(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} takes a whole number >= ${min}`);
    return n;
  };
}

export const dbOption = () => new Option("--db <path>", "the flowpol store (default: $FLOWPOL_DB or ./flowpol.db)");

export function buildProgram(out: Output): Command {
  const program = new Command("flowpol")
    .description("Least-privilege Kubernetes NetworkPolicies from observed Hubble and Calico flows")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.write(s),
      writeErr: (s) => out.stderr.write(s),
    });

  program
    .command("ingest")
    .description(
      "read flow files (Hubble JSON, exporter files, Calico flow logs, Goldmane and Whisker JSON; .gz; - for stdin) into the store",
    )
    .argument("<files...>", "flow files, or - for stdin")
    .addOption(dbOption())
    .option("--format <name>", "input format: auto, hubble, calico, goldmane, whisker", "auto")
    .option("--strict", "stop at the first bad line and store nothing from that input", false)
    .option("--workers <n>", "parse worker threads (default: one per core, at most 4)", parseIntFlag("--workers"))
    .option("--json", "print the per-input results as JSON", false)
    .action(async (files: string[], o) => {
      const { ingest } = await import("./commands/ingest.js");
      await ingest(
        {
          inputs: files,
          db: resolveDbPath(o.db),
          format: o.format,
          strict: o.strict,
          workers: o.workers,
          json: o.json,
        },
        out,
      );
    });

  program
    .command("stats")
    .description("summarise the store: flows, edges, workloads, namespaces, window, gaps, bad lines")
    .addOption(dbOption())
    .option("--json", "one JSON object", false)
    .action(async (o) => {
      const { stats } = await import("./commands/stats.js");
      await stats({ db: resolveDbPath(o.db), json: o.json }, out);
    });

  const collect = program.command("collect").description("collect live flows from a flow API into the store");
  collect
    .command("goldmane")
    .description("read Calico Goldmane flows (goldmane.Flows List, or Stream with --follow) over mutual TLS")
    .addOption(dbOption())
    .option(
      "--server <host:port>",
      "Goldmane's address (after kubectl port-forward -n calico-system svc/goldmane 7443:7443)",
      "localhost:7443",
    )
    .option(
      "--tls-ca-cert-files <files>",
      "CA certificate(s) to verify Goldmane (PEM; repeat or comma-separate)",
      (value: string, previous: string[] = []) => [...previous, ...value.split(",").filter((f) => f !== "")],
    )
    .option("--tls-client-cert-file <file>", "client certificate (PEM) signed by the Calico operator's CA")
    .option("--tls-client-key-file <file>", "the client certificate's private key (PEM)")
    .option("--tls-server-name <name>", "name to check in Goldmane's certificate (e.g. goldmane)")
    .option(
      "--follow",
      "stream new flows until --duration, Ctrl-C or SIGTERM (reconnects when the server goes away)",
      false,
    )
    .option(
      "--since <duration>",
      "read this much history first (e.g. 30m; Goldmane keeps about 1h)",
      parseDurationFlag("--since"),
    )
    .option("--duration <duration>", "with --follow: stop after this long (e.g. 2h)", parseDurationFlag("--duration"))
    .option("--page-size <n>", "flows per List page", parseIntFlag("--page-size", 1), 1000)
    .option("--timeout <duration>", "how long to wait for Goldmane to answer", parseDurationFlag("--timeout"), 10_000)
    .option("--json", "print the summary as JSON", false)
    .action(async (o) => {
      if (o.duration !== undefined && !o.follow) {
        throw new UsageError("--duration only applies with --follow", "add --follow, or drop --duration");
      }
      const { collectGoldmaneCommand } = await import("./commands/collect-goldmane.js");
      await collectGoldmaneCommand(
        {
          db: resolveDbPath(o.db),
          server: o.server,
          tls: {
            caCertFiles: o.tlsCaCertFiles ?? [],
            clientCertFile: o.tlsClientCertFile,
            clientKeyFile: o.tlsClientKeyFile,
            serverName: o.tlsServerName,
          },
          follow: o.follow,
          sinceMs: o.since,
          durationMs: o.duration,
          pageSize: o.pageSize,
          timeoutMs: o.timeout,
          json: o.json,
        },
        out,
      );
    });

  program
    .command("simulate")
    .description("write realistic flow records from a simulated cluster (to try flowpol, and for benchmarks)")
    .option("--scenario <name>", "the simulated cluster", "online-boutique")
    .option("--flows <n>", "how many records to write", parseIntFlag("--flows", 1), 5000)
    .option(
      "--format <name>",
      "output format: hubble, calico (EE defaults), calico-level0..3 (flow logs at one aggregation level), goldmane",
      "hubble",
    )
    .option("--seed <n>", "random seed: the same seed gives the same file", parseIntFlag("--seed"), 1)
    .option("-o, --out <file>", "write to FILE (gzip when it ends in .gz) instead of stdout")
    .action(async (o) => {
      const { simulate } = await import("./commands/simulate.js");
      await simulate({ scenario: o.scenario, flows: o.flows, format: o.format, seed: o.seed, out: o.out }, out);
    });

  return program;
}

/** Runs the CLI and returns the exit code. */
export async function run(argv: string[], out: Output = processOutput()): Promise<number> {
  const program = buildProgram(out);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      return EXIT_CODES.usage;
    }
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

if (isEntryPoint()) {
  run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
