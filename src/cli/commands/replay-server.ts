import { Command } from "commander";
import { loadReplayEvents } from "../../collect/hubble/replay-events.js";
import { startHubbleReplayServer } from "../../collect/hubble/replay-server.js";
import { collectList } from "../flags.js";
import { parseIntFlag } from "../options.js";
import { type Output, writeLine } from "../output.js";

/** A tool, not a pipeline stage: it prints where it listens and runs until stopped. */
export function define(out: Output): Command {
  return new Command("replay-server")
    .description("serve recorded Hubble flows over the Hubble Observer gRPC API (try flowpol without a cluster)")
    .requiredOption("--from <files...>", "recorded flow files (hubble observe -o jsonpb, exporter files; .gz)")
    .option("--listen <host:port>", "address to listen on (port 0: any free port)", "127.0.0.1:4245")
    .option("--tls-cert <file>", "server certificate (PEM)")
    .option("--tls-key <file>", "server key (PEM)")
    .option("--tls-client-ca <file>", "require client certificates signed by this CA (mutual TLS)")
    .option("--rate <n>", "events per second per stream (default: as fast as possible)", parseIntFlag("--rate", 1))
    .option("--lost-every <n>", "emit a lost_events record after every N flows", parseIntFlag("--lost-every", 1))
    .option("--unavailable-node <name>", "report this node as unavailable (repeatable)", collectList, [])
    .action(async (o) => {
      const stopped = new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      await replayServer(
        {
          from: o.from,
          listen: o.listen,
          ...(o.tlsCert ? { tlsCert: o.tlsCert } : {}),
          ...(o.tlsKey ? { tlsKey: o.tlsKey } : {}),
          ...(o.tlsClientCa ? { tlsClientCa: o.tlsClientCa } : {}),
          ...(o.rate !== undefined ? { rate: o.rate } : {}),
          ...(o.lostEvery !== undefined ? { lostEvery: o.lostEvery } : {}),
          unavailableNodes: o.unavailableNode,
          stopped,
        },
        out,
      );
    });
}

export interface ReplayServerCommandOptions {
  from: string[];
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  rate?: number;
  lostEvery?: number;
  unavailableNodes: string[];
  /** Resolves when the server should stop (Ctrl-C, SIGTERM). */
  stopped: Promise<void>;
}

/** `flowpol replay-server`: serves recorded flows over the Hubble Observer API until stopped. */
export async function replayServer(options: ReplayServerCommandOptions, out: Output): Promise<void> {
  const loaded = await loadReplayEvents(options.from);
  for (const b of loaded.bad.slice(0, 5)) writeLine(out.stderr, `  ${b.file}:${b.line}: ${b.reason} (skipped)`);
  if (loaded.bad.length > 5) writeLine(out.stderr, `  ... and ${loaded.bad.length - 5} more bad lines (skipped)`);
  const server = await startHubbleReplayServer({
    events: loaded.events,
    listen: options.listen,
    unavailableNodes: options.unavailableNodes,
    ...(options.tlsCert ? { tlsCert: options.tlsCert } : {}),
    ...(options.tlsKey ? { tlsKey: options.tlsKey } : {}),
    ...(options.tlsClientCa ? { tlsClientCa: options.tlsClientCa } : {}),
    ...(options.rate !== undefined ? { rate: options.rate } : {}),
    ...(options.lostEvery !== undefined ? { lostEvery: options.lostEvery } : {}),
  });
  const host = options.listen.replace(/:\d+$/, "");
  const mode = options.tlsClientCa ? "mutual TLS" : options.tlsCert ? "TLS" : "plaintext";
  writeLine(
    out.stdout,
    `replay-server: ${loaded.events.length} events from ${options.from.length} file(s); listening on ${host}:${server.port} (${mode})`,
  );
  await options.stopped;
  await server.close();
  writeLine(out.stderr, "replay-server: stopped");
}
