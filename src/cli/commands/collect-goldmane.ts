import { Command } from "commander";
import type { TlsFlags } from "../../collect/grpc/tls.js";
import { UsageError } from "../../errors.js";
import { collectGoldmane, type GoldmaneCollectSummary } from "../../ingest/goldmane.js";
import { resolveDbPath } from "../../store/db.js";
import { openFlowStore } from "../../store/open.js";
import { parseClusterFlag } from "../../store/resolve-cluster.js";
import type { FlowStore } from "../../store/store.js";
import { collectList } from "../flags.js";
import { addOutputOptions, dbOption, parseIntFlag, writeClusterOption } from "../options.js";
import { type Output, writeLine } from "../output.js";
import { ProgressLine } from "../progress.js";
import { durationOption, isoTime, parseTimeMs, timeOption } from "../time-flags.js";

export function define(out: Output): Command {
  const cmd = new Command("goldmane")
    .description("read Calico Goldmane flows (goldmane.Flows List, or Stream with --follow) over mutual TLS")
    .addOption(dbOption())
    .addOption(writeClusterOption())
    .option(
      "--server <host:port>",
      "Goldmane's address (after kubectl port-forward -n calico-system svc/goldmane 7443:7443)",
      "localhost:7443",
    )
    .option(
      "--tls-ca-cert-files <files>",
      "CA certificate(s) to verify Goldmane (PEM; repeat or comma-separate)",
      collectList,
    )
    .option("--tls-client-cert-file <file>", "client certificate (PEM) signed by the Calico operator's CA")
    .option("--tls-client-key-file <file>", "the client certificate's private key (PEM)")
    .option("--tls-server-name <name>", "name to check in Goldmane's certificate (e.g. goldmane)")
    .option(
      "--follow",
      "stream new flows until --duration, Ctrl-C or SIGTERM (reconnects when the server goes away)",
      false,
    )
    .addOption(
      timeOption(
        "--since <time>",
        "read history from this time first (Goldmane keeps about 1h; not used once a cursor is stored)",
      ),
    )
    .addOption(durationOption("--duration <duration>", "with --follow: stop after this long"))
    .option(
      "--page-size <n>",
      "flow records per List page (above the number of flow keys: one page, no re-reads)",
      parseIntFlag("--page-size", 1),
      1000,
    )
    .addOption(durationOption("--timeout <duration>", "how long to wait for Goldmane to answer", "10s"));
  return addOutputOptions(cmd, { formats: ["text", "json"], default: "text", legacyJson: true }, out).action(
    async (o) => {
      if (o.duration !== undefined && !o.follow) {
        throw new UsageError("--duration only applies with --follow", "add --follow, or drop --duration");
      }
      const now = Date.now();
      await collectGoldmaneCommand(
        {
          db: resolveDbPath(o.db),
          cluster: o.cluster,
          server: o.server,
          tls: {
            caCertFiles: o.tlsCaCertFiles ?? [],
            clientCertFile: o.tlsClientCertFile,
            clientKeyFile: o.tlsClientKeyFile,
            serverName: o.tlsServerName,
          },
          follow: o.follow,
          ...(o.since !== undefined ? { sinceMs: Math.max(1, now - parseTimeMs("--since", o.since, now)) } : {}),
          durationMs: o.duration,
          pageSize: o.pageSize,
          timeoutMs: o.timeout,
          json: o.output === "json",
        },
        out,
      );
    },
  );
}

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
    const { resumedFrom, ...counts } = summary;
    const json = { ...counts, ...(resumedFrom !== undefined ? { resumedFrom: isoTime(resumedFrom * 1000) } : {}) };
    writeLine(out.stdout, JSON.stringify(json, null, 2));
    return;
  }
  const how = summary.mode === "list" ? "listed" : "streamed";
  writeLine(
    out.stdout,
    `goldmane://${summary.server}: ${how} ${summary.records} flow records (${summary.flows} connections), ${summary.duplicates} duplicates dropped, ${summary.reconnects} reconnects, ${summary.bad} bad; stopped by ${summary.stoppedBy}`,
  );
}
