import { loadReplayEvents } from "../../collect/hubble/replay-events.js";
import { startHubbleReplayServer } from "../../collect/hubble/replay-server.js";
import { type Output, writeLine } from "../output.js";

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
