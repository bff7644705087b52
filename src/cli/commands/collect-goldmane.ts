import type { TlsFlags } from "../../collect/grpc/tls.js";
import { collectGoldmane, type GoldmaneCollectSummary } from "../../ingest/goldmane.js";
import { openFlowStore } from "../../store/open.js";
import { parseClusterFlag } from "../../store/resolve-cluster.js";
import type { FlowStore } from "../../store/store.js";
import { type Output, writeLine } from "../output.js";
import { ProgressLine } from "../progress.js";

export interface CollectGoldmaneCommandOptions {
  db: string;
  /** `--cluster`: the cluster these flows come from. */
  cluster?: string | undefined;
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
  const cluster = parseClusterFlag(options.cluster);
  let opened: FlowStore | undefined;
  const store = async () => {
    opened = await openFlowStore(options.db);
    return opened;
  };
  const progress = new ProgressLine(out.stderr);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let summary: GoldmaneCollectSummary;
  try {
    summary = await collectGoldmane({
      store,
      cluster,
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
    await opened?.close();
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
