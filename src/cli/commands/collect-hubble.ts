import { Command, type OptionValues } from "commander";
import type { TlsFlags } from "../../collect/grpc/tls.js";
import { UsageError } from "../../errors.js";
import type { ServerStatusResponse } from "../../gen/observer/observer_pb.js";
import { collectHubble, type HubbleCollectSummary } from "../../ingest/hubble-relay.js";
import { resolveDbPath } from "../../store/db.js";
import { openFlowStore } from "../../store/open.js";
import { parseClusterFlag } from "../../store/resolve-cluster.js";
import type { FlowStore } from "../../store/store.js";
import { collectList } from "../flags.js";
import { addOutputOptions, dbOption, parseIntFlag, writeClusterOption } from "../options.js";
import { type Output, writeLine } from "../output.js";
import { formatDuration, ProgressLine } from "../progress.js";
import { durationOption, type FlagTime, formatFlagTime, parseTimeFlag, timeOption } from "../time-flags.js";

export function define(out: Output): Command {
  const cmd = new Command("hubble")
    .description("stream flows from Hubble Relay (or a Hubble server) over gRPC into the store")
    .addOption(dbOption())
    .addOption(writeClusterOption())
    .option("--server <host:port>", "Hubble Relay address", "localhost:4245")
    .option("--tls", "use TLS", false)
    .option("--tls-ca-cert-files <files...>", "CA certificates (PEM) that verify the server", collectList, [])
    .option("--tls-client-cert-file <file>", "client certificate (PEM) for mutual TLS")
    .option("--tls-client-key-file <file>", "client key (PEM) for mutual TLS")
    .option("--tls-server-name <name>", "the name the server certificate must carry")
    .option("--tls-allow-insecure", "do not verify the server certificate (insecure)", false)
    .addOption(timeOption("--since <time>", "flows since this time"))
    .addOption(timeOption("--until <time>", "flows until this time"))
    .option("--last <n>", "the last N flows of the ring buffer", parseIntFlag("--last", 1))
    .option("-f, --follow", "keep streaming new flows", false)
    .addOption(durationOption("--duration <duration>", "stop after this long"))
    .option("--namespace <ns>", "only flows from or to this namespace (repeat or comma-separate)", collectList, [])
    .addOption(durationOption("--request-timeout <duration>", "how long to wait for the server to answer", "12s"))
    .addOption(
      durationOption("--reconnect-timeout <duration>", "give up when the server stays unreachable this long", "5m"),
    )
    .option(
      "--workers <n>",
      "decode worker threads (default: cores - 1, at most 4, and none below 4 cores; 0 decodes on the main thread)",
      parseIntFlag("--workers"),
    );
  return addOutputOptions(cmd, { formats: ["text", "json"], default: "text", legacyJson: true }, out).action(
    async (o) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await collectHubbleCommand({ ...commandOptions(o, Date.now()), signal: stop.signal }, out);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    },
  );
}

function commandOptions(o: OptionValues, now: number): Omit<CollectHubbleCommandOptions, "signal"> {
  if (o.last !== undefined && (o.since !== undefined || o.until !== undefined)) {
    throw new UsageError("--last cannot be combined with --since or --until", "use --last N, or a time window");
  }
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/.test(o.server)) {
    throw new UsageError(
      `--server ${JSON.stringify(o.server)} is not host:port`,
      "write --server like localhost:4245 or hubble-relay.kube-system.svc:80",
    );
  }
  return {
    db: resolveDbPath(o.db),
    cluster: o.cluster,
    server: o.server,
    tls: {
      tls: o.tls,
      caCertFiles: o.tlsCaCertFiles,
      ...(o.tlsClientCertFile ? { clientCertFile: o.tlsClientCertFile } : {}),
      ...(o.tlsClientKeyFile ? { clientKeyFile: o.tlsClientKeyFile } : {}),
      ...(o.tlsServerName ? { serverName: o.tlsServerName } : {}),
      allowInsecure: o.tlsAllowInsecure,
    },
    ...(o.since !== undefined ? { since: parseTimeFlag("--since", o.since, now) } : {}),
    ...(o.until !== undefined ? { until: parseTimeFlag("--until", o.until, now) } : {}),
    ...(o.last !== undefined ? { last: o.last } : {}),
    follow: o.follow,
    ...(o.duration !== undefined ? { durationMs: o.duration } : {}),
    namespaces: o.namespace,
    requestTimeoutMs: o.requestTimeout,
    reconnectTimeoutMs: o.reconnectTimeout,
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    json: o.output === "json",
  };
}

export interface CollectHubbleCommandOptions {
  db: string;
  /** `--cluster`: the cluster these flows come from. */
  cluster?: string | undefined;
  server: string;
  tls: TlsFlags;
  since?: FlagTime;
  until?: FlagTime;
  last?: number;
  follow: boolean;
  durationMs?: number;
  namespaces: string[];
  requestTimeoutMs: number;
  reconnectTimeoutMs: number;
  workers?: number;
  json: boolean;
  /** Stops the collection (Ctrl-C, SIGTERM): the batch in hand is flushed and the run ends normally. */
  signal: AbortSignal;
}

function describeStatus(s: ServerStatusResponse): string {
  const parts = [`${s.numFlows}/${s.maxFlows} flows in the ring buffer`];
  if (s.numConnectedNodes !== undefined) parts.push(`${s.numConnectedNodes} node(s) connected`);
  if (s.numUnavailableNodes !== undefined) parts.push(`${s.numUnavailableNodes} unavailable`);
  if (s.version) parts.push(`version ${s.version}`);
  return parts.join(", ");
}

/** `flowpol collect hubble`: streams flows from Hubble Relay into the store. */
export async function collectHubbleCommand(options: CollectHubbleCommandOptions, out: Output): Promise<void> {
  // Opened once the server answered: a failed connection leaves no store file behind.
  const cluster = parseClusterFlag(options.cluster);
  let opened: FlowStore | undefined;
  const store = async () => {
    opened = await openFlowStore(options.db);
    return opened;
  };
  const progress = new ProgressLine(out.stderr);
  const started = Date.now();
  if (options.tls.allowInsecure) {
    writeLine(
      out.stderr,
      "WARNING: --tls-allow-insecure: the server's certificate is NOT verified; anyone on the path can read and forge flows",
    );
  }
  let summary: HubbleCollectSummary;
  try {
    summary = await collectHubble({
      store,
      cluster,
      server: options.server,
      tls: options.tls,
      follow: options.follow,
      namespaces: options.namespaces,
      requestTimeoutMs: options.requestTimeoutMs,
      reconnectTimeoutMs: options.reconnectTimeoutMs,
      signal: options.signal,
      ...(options.since ? { since: options.since } : {}),
      ...(options.until ? { until: options.until } : {}),
      ...(options.last !== undefined ? { last: options.last } : {}),
      ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      onStatus: (s) => {
        writeLine(out.stderr, `connected to ${options.server}: ${describeStatus(s)}`);
        if (s.unavailableNodes.length > 0) {
          writeLine(
            out.stderr,
            `warning: unavailable node(s), their flows are missing (recorded as gaps): ${s.unavailableNodes.join(", ")}`,
          );
        }
      },
      onResume: (from) =>
        writeLine(out.stderr, `resuming after ${formatFlagTime(from)}: earlier flows are already in the store`),
      onReconnect: (r) => {
        progress.done();
        writeLine(out.stderr, `${r.reason}; reconnecting in ${(r.delayMs / 1000).toFixed(1)}s (attempt ${r.attempt})`);
      },
      onProgress: (p) =>
        progress.update(
          (elapsed) =>
            `${p.flows} flows  ${Math.round(p.flows / Math.max(elapsed, 0.001))} flows/s  ${p.lost} lost  ${formatDuration(elapsed)}`,
        ),
    });
  } finally {
    progress.done();
    await opened?.close();
  }
  const seconds = (Date.now() - started) / 1000;
  if (options.json) {
    const { resumedFrom, ...counts } = summary;
    const json = {
      server: options.server,
      ...counts,
      ...(resumedFrom ? { resumedFrom: formatFlagTime(resumedFrom) } : {}),
      seconds,
    };
    writeLine(out.stdout, JSON.stringify(json, null, 2));
    return;
  }
  const parts = [`${summary.flows} flows`, `${summary.replies} replies`];
  if (summary.lost) parts.push(`${summary.lost} events lost upstream`);
  if (summary.duplicates) parts.push(`${summary.duplicates} re-sent events dropped`);
  if (summary.reconnects) parts.push(`${summary.reconnects} reconnect(s)`);
  if (summary.bad) parts.push(`${summary.bad} bad records`);
  const why =
    summary.stoppedBy === "signal" ? " (interrupted)" : summary.stoppedBy === "duration" ? " (--duration)" : "";
  writeLine(out.stdout, `collected from ${options.server}: ${parts.join(", ")} in ${seconds.toFixed(1)}s${why}`);
}
