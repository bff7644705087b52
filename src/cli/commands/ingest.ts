import { Command } from "commander";
import { InputError, UsageError } from "../../errors.js";
import { type InputResult, ingestInputs } from "../../ingest/files.js";
import { resolveDbPath } from "../../store/db.js";
import { openFlowStore } from "../../store/open.js";
import { parseClusterFlag } from "../../store/resolve-cluster.js";
import { addOutputOptions, dbOption, parseIntFlag, writeClusterOption } from "../options.js";
import { type Output, writeLine } from "../output.js";
import { formatBytes, formatDuration, ProgressLine } from "../progress.js";
import { recordFormatOption } from "../record-format.js";
import { parseIsoTime } from "../time-flags.js";

export function define(out: Output): Command {
  const cmd = new Command("ingest")
    .description(
      "read flow files (Hubble JSON, exporter files, Calico flow logs, Goldmane and Whisker JSON; .gz; - for stdin) into the store",
    )
    .argument("<files...>", "flow files, or - for stdin")
    .addOption(dbOption())
    .addOption(writeClusterOption())
    .addOption(recordFormatOption())
    .option("--strict", "stop at the first bad line and store nothing from that input", false)
    .option(
      "--default-time <time>",
      "ISO 8601 time for records that carry no time at all (without it they are bad lines)",
    )
    .option(
      "--workers <n>",
      "parse worker threads (default: one per 256 MiB of input, at most one per core and 4)",
      parseIntFlag("--workers"),
    );
  return addOutputOptions(cmd, { formats: ["text", "json"], default: "text", legacyJson: true }, out).action(
    async (files: string[], o) => {
      await ingest(
        {
          inputs: files,
          db: resolveDbPath(o.db),
          cluster: o.cluster,
          format: o.format,
          strict: o.strict,
          workers: o.workers,
          defaultTime: o.defaultTime,
          json: o.output === "json",
        },
        out,
      );
    },
  );
}

export interface IngestCommandOptions {
  inputs: string[];
  db: string;
  /** `--cluster`: the cluster these flows come from. */
  cluster?: string | undefined;
  format: string;
  strict: boolean;
  workers?: number;
  /** `--default-time`: an RFC 3339 time for records without one. */
  defaultTime?: string;
  json: boolean;
}

/** `flowpol ingest FILE... | -`: reads flow files into the store. Exit 1 if any line or file was bad. */
export async function ingest(options: IngestCommandOptions, out: Output): Promise<void> {
  const defaultTime = options.defaultTime === undefined ? undefined : defaultTimeMs(options.defaultTime);
  const cluster = parseClusterFlag(options.cluster);
  const store = await openFlowStore(options.db);
  const progress = new ProgressLine(out.stderr);
  const started = Date.now();
  let results: InputResult[];
  try {
    results = await ingestInputs({
      store,
      cluster,
      inputs: options.inputs,
      format: options.format,
      strict: options.strict,
      defaultTime,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      onProgress: (p) =>
        progress.update((elapsed) => {
          const rate = p.flows / Math.max(elapsed, 0.001);
          const share = p.totalBytes ? p.rawBytesRead / p.totalBytes : undefined;
          const eta = share ? (elapsed / share) * (1 - share) : Number.NaN;
          const total = p.totalBytes ? ` / ${formatBytes(p.totalBytes)}` : "";
          return `${p.input}: ${formatBytes(p.rawBytesRead)}${total}  ${p.flows} flows  ${Math.round(rate)} flows/s  ETA ${formatDuration(eta)}`;
        }),
    });
  } finally {
    progress.done();
    await store.close();
  }
  const seconds = (Date.now() - started) / 1000;
  if (options.json) writeLine(out.stdout, JSON.stringify(results.map(resultJson), null, 2));
  else for (const r of results) reportResult(r, results.length, out);
  const flows = results.reduce((n, r) => n + r.counts.flows, 0);
  if (!options.json) {
    writeLine(out.stderr, `ingested ${flows} flows from ${results.length} input(s) in ${seconds.toFixed(1)}s`);
  }
  const failedInputs = results.filter((r) => r.outcome === "failed");
  const badLines = results.reduce((n, r) => n + r.counts.bad, 0);
  const only = results.length === 1 ? failedInputs[0]?.error : undefined;
  if (only) throw new InputError(only.message, undefined, only.hint);
  if (failedInputs.length > 0) {
    throw new InputError(
      `${failedInputs.length} of ${results.length} inputs failed (${options.json ? "in the JSON" : "named above"}); ${storedSummary(flows)} from the others`,
      undefined,
      "fix or drop the failed inputs and ingest again: what was stored is not counted twice",
    );
  }
  if (badLines > 0) {
    throw new InputError(
      `${badLines} bad line(s) were skipped; ${storedSummary(flows)} from the other lines`,
      undefined,
      "fix the lines named above and ingest the file again: lines already stored are not counted twice",
    );
  }
}

/** What an ingest with bad lines stored, in numbers: never "everything" when that was nothing. */
function storedSummary(flows: number): string {
  if (flows === 0) return "no flow was stored";
  return `${flows} flow${flows === 1 ? " was" : "s were"} stored`;
}

/** What a failed input left in the store: exactly the lines of its committed chunks. */
function failedSummary(r: InputResult): string {
  const c = r.counts;
  if (c.flows + c.replies + c.skipped + c.bad === 0) return "nothing of it was stored";
  const resume = r.input === "-" ? "" : "; ingesting it again resumes after them";
  return `stored before the failure: ${c.flows} flows, ${c.replies} replies, ${c.bad} bad lines${resume}`;
}

/** `--default-time` in ms: an RFC 3339 time only (a duration back from now would not repeat). */
function defaultTimeMs(value: string): number {
  const t = parseIsoTime(value);
  if (t === undefined) {
    throw new UsageError(
      `--default-time ${JSON.stringify(value)} is not an ISO 8601 time`,
      "write it like 2026-01-02T15:04:05Z (the time the export was taken)",
    );
  }
  return t.seconds * 1000 + Math.floor(t.nanos / 1e6);
}

function resultJson(r: InputResult) {
  return {
    input: r.input,
    outcome: r.outcome,
    format: r.format ?? null,
    ...r.counts,
    badLines: r.badLines,
    heldLine: r.heldLine ?? null,
    duplicates: r.duplicates ?? 0,
    error: r.error ? { message: r.error.message, hint: r.error.hint ?? null } : null,
  };
}

/** One input's outcome; a lone input's failure is said once, as the command's error. */
function reportResult(r: InputResult, inputs: number, out: Output): void {
  const c = r.counts;
  switch (r.outcome) {
    case "failed": {
      // A lone input's error is the command's, said once at the end; what it stored is said here.
      if (inputs > 1) {
        writeLine(out.stderr, `error: ${r.error?.message}`);
        if (r.error?.hint) writeLine(out.stderr, `  fix: ${r.error.hint}`);
      }
      const c = r.counts;
      if (c.flows + c.replies + c.skipped + c.bad > 0) writeLine(out.stderr, `  ${failedSummary(r)}`);
      return;
    }
    case "empty":
      writeLine(out.stderr, `${r.input}: empty, nothing to ingest`);
      return;
    case "already-ingested":
      writeLine(out.stdout, `${r.input}: already ingested, nothing added`);
      return;
    default: {
      const parts = [`${c.flows} flows`, `${c.replies} replies`];
      if (c.skipped) parts.push(`${c.skipped} non-flow events skipped`);
      if (c.lost) parts.push(`${c.lost} events lost upstream`);
      if (c.bad) parts.push(`${c.bad} bad lines`);
      if (r.duplicates) parts.push(`${r.duplicates} flows already stored (same uuid and time) not counted again`);
      writeLine(out.stdout, `${r.input}: ${r.outcome} (${r.format}): ${parts.join(", ")}`);
      for (const b of r.badLines) writeLine(out.stderr, `  ${r.input}:${b.line}: ${b.reason}`);
      if (c.bad > r.badLines.length) writeLine(out.stderr, `  ... and ${c.bad - r.badLines.length} more bad lines`);
    }
  }
  if (r.heldLine !== undefined) {
    writeLine(
      out.stderr,
      `  ${r.input}:${r.heldLine}: the last line has no newline and is an unfinished JSON object (still being written?): left for the next ingest, which resumes there`,
    );
  }
}
