import { collectGoldmane, type GoldmaneCollectSummary } from "../../collect/goldmane/collector.js";
import type { TlsFlags } from "../../collect/goldmane/tls.js";
import { type Db, openStore } from "../../store/db.js";
import { type Output, writeLine } from "../output.js";
import { ProgressLine } from "../progress.js";

export interface CollectGoldmaneCommandOptions {
  db: string;
  server: string;
  tls: TlsFlags;
  follow: boolean;
  sinceMs?: number;
  durationMs?: number;
  pageSize: number;
  timeoutMs: number;
  json: boolean;
}

/**
 * `flowpol collect goldmane`: Calico Goldmane flows into the store. Ctrl-C (SIGINT) or SIGTERM
 * writes what was received and exits 0 with the summary.
 */
export async function collectGoldmaneCommand(options: CollectGoldmaneCommandOptions, out: Output): Promise<void> {
  // Opened once the server answered: a failed connection leaves no store file behind.
  let db: Db | undefined;
  const store = () => {
    db = openStore(options.db);
    return db;
  };
  const progress = new ProgressLine(out.stderr);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let summary: GoldmaneCollectSummary;
  try {
    summary = await collectGoldmane({
      db: store,
      server: options.server,
      tls: options.tls,
      follow: options.follow,
      ...(options.sinceMs !== undefined ? { sinceSeconds: Math.ceil(options.sinceMs / 1000) } : {}),
      ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}),
      pageSize: options.pageSize,
      connectTimeoutMs: options.timeoutMs,
      signal: stop.signal,
      onResume: (from) =>
        writeLine(
          out.stderr,
          `resuming at the window of ${new Date(from * 1000).toISOString()}: earlier flows are already in the store`,
        ),
      onProgress: (p) =>
        progress.update(
          (elapsed) =>
            `goldmane ${options.server}: ${p.flows} flows  ${Math.round(p.flows / Math.max(elapsed, 0.001))} flows/s  ${p.duplicates} duplicates dropped  ${p.reconnects} reconnects  ${Math.round(elapsed)}s`,
        ),
    });
  } finally {
    progress.done();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    db?.close();
  }
  if (summary.mode === "list" && summary.stoppedBy === "signal") {
    writeLine(out.stderr, "stopped before List was read whole: nothing stored (the next run reads the same range)");
  }
  if (options.json) {
    writeLine(out.stdout, JSON.stringify(summary, null, 2));
    return;
  }
  const how = summary.mode === "list" ? "listed" : "streamed";
  writeLine(
    out.stdout,
    `goldmane://${summary.server}: ${how} ${summary.records} flow records (${summary.flows} connections), ${summary.duplicates} duplicates dropped, ${summary.reconnects} reconnects, ${summary.bad} bad; stopped by ${summary.stoppedBy}`,
  );
}
