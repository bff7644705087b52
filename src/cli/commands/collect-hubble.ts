import type { TlsFlags } from "../../collect/grpc/tls.js";
import type { ServerStatusResponse } from "../../gen/observer/observer_pb.js";
import { collectHubble, type HubbleCollectSummary } from "../../ingest/hubble-relay.js";
import { openFlowStore } from "../../store/open.js";
import { parseClusterFlag } from "../../store/resolve-cluster.js";
import type { FlowStore } from "../../store/store.js";
import { type Output, writeLine } from "../output.js";
import { formatDuration, ProgressLine } from "../progress.js";
import { type FlagTime, formatFlagTime } from "../time-flags.js";

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
    writeLine(out.stdout, JSON.stringify({ server: options.server, ...summary, seconds }, null, 2));
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
