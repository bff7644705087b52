import { InputError, UsageError } from "../../errors.js";
import { type InputResult, ingestInputs } from "../../ingest/files.js";
import { openFlowStore } from "../../store/open.js";
import { parseClusterFlag } from "../../store/resolve-cluster.js";
import { type Output, writeLine } from "../output.js";
import { formatBytes, formatDuration, ProgressLine } from "../progress.js";

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
  else for (const r of results) reportResult(r, out);
  const flows = results.reduce((n, r) => n + r.counts.flows, 0);
  if (!options.json) {
    writeLine(out.stderr, `ingested ${flows} flows from ${results.length} input(s) in ${seconds.toFixed(1)}s`);
  }
  const failedInputs = results.filter((r) => r.outcome === "failed");
  const badLines = results.reduce((n, r) => n + r.counts.bad, 0);
  if (failedInputs.length > 0 || badLines > 0) {
    const first = failedInputs[0]?.error;
    throw new InputError(
      failedInputs.length > 0
        ? `${failedInputs.length} input(s) failed${first ? `; first: ${first.message}` : ""}`
        : `${badLines} bad line(s) were skipped; ${storedSummary(flows)} from the other lines`,
      undefined,
      failedInputs.length > 0
        ? first?.hint
        : "fix the lines named above and ingest the file again: lines already stored are not counted twice",
    );
  }
}

/** What an ingest with bad lines stored, in numbers: never "everything" when that was nothing. */
function storedSummary(flows: number): string {
  if (flows === 0) return "no flow was stored";
  return `${flows} flow${flows === 1 ? " was" : "s were"} stored`;
}

/** `--default-time` in ms: an RFC 3339 time only (a duration back from now would not repeat). */
function defaultTimeMs(value: string): number {
  const ms = RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--default-time ${JSON.stringify(value)} is not an RFC 3339 time`,
      "write it like 2026-01-02T15:04:05Z (the time the export was taken)",
    );
  }
  return ms;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

function resultJson(r: InputResult) {
  return {
    input: r.input,
    outcome: r.outcome,
    format: r.format ?? null,
    ...r.counts,
    badLines: r.badLines,
    heldLine: r.heldLine ?? null,
    error: r.error ? { message: r.error.message, hint: r.error.hint ?? null } : null,
  };
}

function reportResult(r: InputResult, out: Output): void {
  const c = r.counts;
  switch (r.outcome) {
    case "failed":
      writeLine(out.stderr, `error: ${r.error?.message}`);
      if (r.error?.hint) writeLine(out.stderr, `  fix: ${r.error.hint}`);
      return;
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
