import { existsSync } from "node:fs";
import { type Command, InvalidArgumentError, Option, type OptionValues } from "commander";
import { UsageError } from "../errors.js";
import { resolveDbPath } from "../store/db.js";
import { type Output, writeLine } from "./output.js";
import { parseWindow, timeOption } from "./time-flags.js";

/**
 * The option vocabulary every command shares (docs/cli.md): `-o, --output FORMAT` for the format of
 * what a command prints, `--out PATH` for a file or folder it writes, `--db PATH` for the store.
 * `--json` and an output `--format` are the old spellings: hidden, and each use prints one
 * deprecation line on stderr.
 */

export const dbOption = () =>
  new Option(
    "--db <path|url>",
    "the flowpol store: a SQLite file, or clickhouse://HOST:PORT/DB (default: $FLOWPOL_DB or ./flowpol.db)",
  );

/** `--cluster` of the commands that read the store. */
export const readClusterOption = () =>
  new Option("--cluster <name>", "the Kubernetes cluster to read (needed when the store holds several)");
/** `--cluster` of the commands that write flows. */
export const writeClusterOption = () =>
  new Option(
    "--cluster <name>",
    "the Kubernetes cluster these flows come from (default: the cluster the records name, else 'default')",
  );

export function parseIntFlag(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} takes a whole number >= ${min}`);
    return n;
  };
}

/** A comma-separated list without empty items (an order: --wave-order a,b,c). */
export function splitList(value: string): string[] {
  const items = value.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) throw new InvalidArgumentError("give a comma-separated list without empty items");
  return items;
}

/** The store when one is named, or the default store when it exists; undefined otherwise. */
export function existingDb(flag: string | undefined): string | undefined {
  const path = resolveDbPath(flag);
  return flag !== undefined || process.env.FLOWPOL_DB !== undefined || existsSync(path) ? path : undefined;
}

/** What a command prints, and how it may be spelled. */
export interface OutputSpec {
  formats: readonly string[];
  default: string;
  /** The command writes files with --out: a bad -o value (an old `-o FILE`) gets --out as the fix. */
  hasOut?: boolean;
  /** The old `--json` flag (same as -o json). */
  legacyJson?: boolean;
  /** The old output `--format NAME` flag (same as -o NAME). */
  legacyFormat?: boolean;
}

function formatParser(flag: string, spec: OutputSpec) {
  return (value: string): string => {
    if (spec.formats.includes(value)) return value;
    const toFile = spec.hasOut ? `; to write a file, use --out ${value}` : "";
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} is not an output format of this command`,
      `use one of: ${spec.formats.join(", ")}${toFile}`,
    );
  };
}

/**
 * Adds `-o, --output FORMAT` to a command, and the hidden old spellings it had: used, they print
 * one deprecation line and set -o, so the action reads `output` alone.
 */
export function addOutputOptions(cmd: Command, spec: OutputSpec, out: Output): Command {
  cmd.addOption(
    new Option("-o, --output <format>", `output format: ${spec.formats.join(", ")}`)
      .argParser(formatParser("-o", spec))
      .default(spec.default),
  );
  if (spec.legacyJson) cmd.addOption(new Option("--json", "deprecated: use -o json").hideHelp());
  if (spec.legacyFormat) {
    cmd.addOption(
      new Option("--format <name>", "deprecated: use -o NAME").argParser(formatParser("--format", spec)).hideHelp(),
    );
  }
  return cmd.hook("preAction", (self) => {
    const o = self.opts();
    if (spec.legacyJson && o.json === true) {
      writeLine(out.stderr, "warning: --json is deprecated: use -o json");
      self.setOptionValue("output", "json");
    }
    if (spec.legacyFormat && typeof o.format === "string") {
      writeLine(out.stderr, `warning: --format is deprecated: use -o ${o.format}`);
      self.setOptionValue("output", o.format);
    }
  });
}

/** `--out PATH`: a file a command writes instead of stdout (`-` is stdout). */
export const outFileOption = (description = "write to FILE instead of stdout (- for stdout)") =>
  new Option("--out <file>", description);

/** The file --out names, or undefined for stdout. */
export function outFile(value: unknown): string | undefined {
  return typeof value === "string" && value !== "-" ? value : undefined;
}

/**
 * `-o FILE` was the file on graph, report and simulate; -o is now the output format everywhere.
 * Where a command has no -o, its old spelling is refused with the fix.
 */
export function removedShortOut(): Option {
  return new Option("-o <file>", "removed: use --out FILE")
    .argParser((value: string) => {
      throw new UsageError(
        `-o ${value}: -o names an output format now, not a file`,
        `write the file with --out ${value}`,
      );
    })
    .hideHelp();
}

/**
 * `--since` and `--until` of every command that counts flows (graph, generate, stats, report, diff):
 * one grammar (time-flags.ts), one meaning: only flows inside the window count, the window rounded
 * out to whole hours (the store counts flows per edge and hour).
 */
export function addWindowOptions(cmd: Command): Command {
  return cmd
    .addOption(timeOption("--since <time>", "count only flows since this time (rounded down to the hour)"))
    .addOption(timeOption("--until <time>", "count only flows until this time (rounded up to the hour)"));
}

/** The window the options name, in epoch ms (`now` for relative times). */
export function windowOf(o: OptionValues, now: number): { since?: number; until?: number } {
  return parseWindow({ since: o.since as string | undefined, until: o.until as string | undefined }, now);
}
