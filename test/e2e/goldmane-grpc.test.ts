import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GoldmaneClient } from "../../src/collect/goldmane/client.js";
import { flowKeyId } from "../../src/collect/goldmane/list-pages.js";
import {
  type RunningGoldmaneReplayServer,
  startGoldmaneReplayServer,
} from "../../src/collect/goldmane/replay-server.js";
import { goldmaneTls } from "../../src/collect/goldmane/tls.js";
import { type Flow, FlowSchema } from "../../src/gen/goldmane/goldmane_pb.js";
import { GoldmaneEmitter } from "../../src/samples/emit-goldmane.js";
import { SCENARIOS } from "../../src/samples/online-boutique.js";
import { buildCluster, simulateEvents } from "../../src/samples/simulate.js";
import { openStore } from "../../src/store/db.js";
import { runCli } from "../helpers/cli.js";
import { startCli } from "../helpers/cli-async.js";
import { type MtlsFiles, makeMtlsFiles } from "../helpers/mtls-certs.js";
import { tempDir } from "../helpers/paths.js";
import { readTable } from "../helpers/store.js";

let dir: string;
let cleanup: () => void;
let certs: MtlsFiles;
let flows: Flow[];
let flowsFile: string;
let fileDb: string;
/** The window after the last recorded one (Unix seconds): the recording ends two minutes ago. */
let recordingEnd: number;

function serverCredentials(): ServerCredentials {
  return ServerCredentials.createSsl(
    readFileSync(certs.caCert),
    [{ cert_chain: readFileSync(certs.serverCert), private_key: readFileSync(certs.serverKey) }],
    true,
  );
}

function tlsFlags(overrides: Partial<Record<string, string>> = {}): string[] {
  const flags: Record<string, string> = {
    "--tls-ca-cert-files": certs.caCert,
    "--tls-client-cert-file": certs.clientCert,
    "--tls-client-key-file": certs.clientKey,
    "--tls-server-name": "goldmane",
    ...overrides,
  };
  return Object.entries(flags).flatMap(([k, v]) => (v === "" ? [] : [k, v]));
}

/** Connections stored by every ingest and collection of a store. */
function collectedFlows(db: string): number {
  const rows = readTable(db, "SELECT coalesce(sum(flows), 0) AS n FROM ingests") as Array<{
    n: number;
  }>;
  return rows[0]?.n ?? 0;
}

/** Edges with their counts and first and last seen: what `--since` windows and stats read. */
function edgesSeen(db: string): unknown[] {
  return readTable(
    db,
    `SELECT s.namespace || '/' || s.name || ' -> ' || d.namespace || '/' || d.name || ' ' || e.protocol || '/' || e.port
            || ' ' || e.verdict AS edge, e.count, e.first_seen AS first, e.last_seen AS last
     FROM edges e JOIN endpoints s ON s.id = e.src_id JOIN endpoints d ON d.id = e.dst_id ORDER BY edge`,
  );
}

async function withServer<T>(
  options: { now?: () => number; listen?: string; dropStreamAfter?: number },
  run: (server: RunningGoldmaneReplayServer) => Promise<T>,
): Promise<T> {
  const server = await startGoldmaneReplayServer({
    flows,
    credentials: serverCredentials(),
    listen: options.listen ?? "127.0.0.1:0",
    ...(options.now ? { now: options.now } : {}),
    ...(options.dropStreamAfter !== undefined ? { dropStreamAfter: options.dropStreamAfter } : {}),
  });
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

async function collect(port: number, db: string, extra: string[] = []) {
  const r = await startCli([
    "collect",
    "goldmane",
    "--db",
    db,
    "--server",
    `127.0.0.1:${port}`,
    ...extra,
    ...tlsFlags(),
  ]).done;
  expect(r.code, r.stderr).toBe(0);
  return r;
}

async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !predicate(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
}

function progress(db: string): number {
  try {
    return collectedFlows(db);
  } catch {
    return 0;
  }
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir("flowpol-goldmane-"));
  certs = makeMtlsFiles(dir);
  // An hour of traffic, as much as Goldmane holds, dense enough that many flow keys share windows.
  const scenario = SCENARIOS["online-boutique"] as NonNullable<(typeof SCENARIOS)[string]>;
  const cluster = buildCluster({ ...scenario, durationMs: 3600_000 }, 3);
  const emitter = new GoldmaneEmitter();
  const lines: string[] = [];
  for (const event of simulateEvents(cluster, 3000, 4)) lines.push(...emitter.lines(event));
  lines.push(...emitter.flush());
  // Moved in time so that the recording ends two minutes ago, window-aligned.
  const recorded = lines.map((l) => fromJson(FlowSchema, JSON.parse(l)));
  const lastStart = Math.max(...recorded.map((f) => Number(f.startTime)));
  recordingEnd = Math.floor((Date.now() / 1000 - 120) / 15) * 15;
  const shift = BigInt(recordingEnd - 15 - lastStart);
  flows = recorded.map((f) => ({ ...f, startTime: f.startTime + shift, endTime: f.endTime + shift }));
  flowsFile = join(dir, "goldmane.jsonl");
  writeFileSync(flowsFile, `${flows.map((f) => JSON.stringify(toJson(FlowSchema, f))).join("\n")}\n`);
  fileDb = join(dir, "file.db");
  const r = runCli(["ingest", "--db", fileDb, flowsFile]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => cleanup());

describe("flowpol collect goldmane against a replay server that answers as upstream Goldmane, with mutual TLS", () => {
  it("stores the same edges, counts, first and last seen through List, Stream and a file of the same flows", async () => {
    await withServer({}, async (server) => {
      const listDb = join(dir, "list.db");
      const listed = await collect(server.port, listDb, ["--page-size", "1000"]);
      expect(listed.stdout).toMatch(/listed \d+ flow records .* 0 bad; stopped by end/);
      expect(edgesSeen(listDb)).toEqual(edgesSeen(fileDb));

      const streamDb = join(dir, "stream.db");
      const run = startCli([
        "collect",
        "goldmane",
        "--follow",
        "--since",
        "2h",
        "--db",
        streamDb,
        "--server",
        `127.0.0.1:${server.port}`,
        ...tlsFlags(),
      ]);
      try {
        await waitFor(() => progress(streamDb) >= collectedFlows(listDb), "every flow");
        run.child.kill("SIGINT");
        const r = await run.done;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`streamed ${flows.length} flow records .*stopped by signal`));
      } finally {
        run.child.kill("SIGKILL");
      }
      expect(edgesSeen(streamDb)).toEqual(edgesSeen(fileDb));
    });
  });

  it.each([7, 25])(
    "pages of %i through ties in random order: every key once, nothing lost or repeated",
    async (pageSize) => {
      await withServer({}, async (server) => {
        // The server orders ties at random on every call, as upstream does: two reads differ.
        const client = new GoldmaneClient(
          `127.0.0.1:${server.port}`,
          goldmaneTls({
            caCertFiles: [certs.caCert],
            clientCertFile: certs.clientCert,
            clientKeyFile: certs.clientKey,
            serverName: "goldmane",
          }),
        );
        const order = async () => {
          const keys: string[] = [];
          for (let page = 0n; ; page++) {
            const r = await client.list(
              { startTimeGte: 0n, startTimeLt: -30n, page, pageSize: BigInt(pageSize) },
              5000,
            );
            keys.push(...r.flows.map((f) => flowKeyId(f.flow as Flow)));
            if (page + 1n >= (r.meta?.totalPages ?? 0n)) break;
          }
          return keys;
        };
        try {
          expect(await order()).not.toEqual(await order());
        } finally {
          client.close();
        }
        const db = join(dir, `pages-${pageSize}.db`);
        const r = await collect(server.port, db, ["--page-size", String(pageSize)]);
        expect(r.stdout).toMatch(/stopped by end/);
        expect(edgesSeen(db)).toEqual(edgesSeen(fileDb));
      });
    },
  );

  it("counts nothing twice: List, List again, then --follow on the same store", async () => {
    await withServer({}, async (server) => {
      const db = join(dir, "again.db");
      await collect(server.port, db, ["--page-size", "50"]);
      const again = await collect(server.port, db, ["--page-size", "50"]);
      expect(again.stderr).toMatch(/resuming at the window of/);
      expect(again.stdout).toMatch(/listed 0 flow records \(0 connections\)/);
      const follow = await collect(server.port, db, ["--follow", "--duration", "2s"]);
      expect(follow.stdout).toMatch(/streamed 0 flow records/);
      expect(edgesSeen(db)).toEqual(edgesSeen(fileDb));
    });
  });

  it("collects every half hour (List, Stream cut inside a window, List) as Goldmane's clock moves on", async () => {
    const db = join(dir, "cron.db");
    let port = 0;
    // Goldmane's clock, not this machine's: each run sees the history up to its time.
    let clock = recordingEnd - 3600 + 17 * 60 + 7;
    const at = async (extra: string[]) =>
      withServer({ now: () => clock, listen: `127.0.0.1:${port}` }, async (server) => {
        port = server.port;
        return collect(server.port, db, extra);
      });
    const first = await at(["--page-size", "25"]);
    expect(first.stderr).not.toMatch(/resuming/);
    expect(first.stdout).toMatch(/listed [1-9]\d* flow records/);
    // As if the first run had been killed before it could finish: the next run marks it failed.
    const store = openStore(db);
    store.prepare("UPDATE ingests SET status = 'running', finished_at = NULL").run();
    store.close();

    clock += 30 * 60;
    // A stream that stops early (its server drops it): its cursor names a window and the keys it stored there.
    const before = collectedFlows(db);
    await withServer({ now: () => clock, listen: `127.0.0.1:${port}`, dropStreamAfter: 40 }, async () => {
      const stream = startCli([
        "collect",
        "goldmane",
        "--follow",
        "--db",
        db,
        "--server",
        `127.0.0.1:${port}`,
        ...tlsFlags(),
      ]);
      try {
        await waitFor(() => progress(db) > before, "the stream's first batch");
      } finally {
        stream.child.kill("SIGINT");
        const r = await stream.done;
        expect(r.code, r.stderr).toBe(0);
      }
    });

    clock = recordingEnd + 60;
    const last = await at(["--page-size", "25"]);
    expect(last.stderr).toMatch(/resuming at the window of/);
    expect(readTable(db, "SELECT status FROM ingests ORDER BY id").slice(0, 1)).toEqual([{ status: "failed" }]);
    expect(edgesSeen(db)).toEqual(edgesSeen(fileDb));
  });

  it("streams with --follow through dropped streams and a server restart, losing and doubling nothing", async () => {
    let server: RunningGoldmaneReplayServer = await startGoldmaneReplayServer({
      flows,
      credentials: serverCredentials(),
      listen: "127.0.0.1:0",
      dropStreamAfter: Math.ceil(flows.length / 3),
    });
    const port = server.port;
    const db = join(dir, "restart.db");
    const run = startCli([
      "collect",
      "goldmane",
      "--follow",
      "--since",
      "2h",
      "--db",
      db,
      "--server",
      `127.0.0.1:${port}`,
      ...tlsFlags(),
    ]);
    try {
      await waitFor(() => progress(db) > 0, "the first flows");
      server.kill();
      await new Promise((r) => setTimeout(r, 300));
      server = await startGoldmaneReplayServer({
        flows,
        credentials: serverCredentials(),
        listen: `127.0.0.1:${port}`,
      });
      await waitFor(() => progress(db) >= collectedFlows(fileDb), "every flow");
      run.child.kill("SIGINT");
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/streamed \d+ flow records .*stopped by signal/);
      const summary = /(\d+) duplicates dropped, (\d+) reconnects/.exec(r.stdout);
      expect(Number(summary?.[1])).toBeGreaterThan(0);
      expect(Number(summary?.[2])).toBeGreaterThan(0);
      expect(edgesSeen(db)).toEqual(edgesSeen(fileDb));
    } finally {
      run.child.kill("SIGKILL");
      await server.close();
    }
  });

  it("reads --since back from Goldmane's own now, and keeps List records' last seen for `graph --since`", async () => {
    await withServer({}, async (server) => {
      const db = join(dir, "since.db");
      await collect(server.port, db, ["--since", "30m"]);
      const since = Date.now() - 30 * 60_000;
      const recent = (edgesSeen(fileDb) as Array<{ last: number }>).filter((e) => e.last >= since - 60_000);
      const stored = edgesSeen(db) as Array<{ first: number; last: number }>;
      expect(stored.length).toBeGreaterThan(0);
      expect(stored.every((e) => e.first >= since - 60_000)).toBe(true);
      expect(stored.length).toBeLessThanOrEqual(recent.length);
      // The full history read by List: an edge is in a 30-minute window when the file's is.
      const graphArgs = (d: string) => ["graph", "--db", d, "--since", "30m", "-o", "json"];
      const listDb = join(dir, "since-full.db");
      await collect(server.port, listDb);
      // Same connections; a List record summed across an hour's end is of an unknown hour, counted
      // whole and said to be uncertain, where the file's windows count by hour.
      const connections = (d: string) => {
        const r = runCli(graphArgs(d));
        const g = JSON.parse(r.stdout) as { allowed: Array<{ from: string; to: string; port: number; count: number }> };
        return {
          edges: g.allowed.map((e) => `${e.from}>${e.to}:${e.port}`),
          flows: g.allowed.map((e) => e.count),
          stderr: r.stderr,
        };
      };
      const listed = connections(listDb);
      const file = connections(fileDb);
      expect(listed.edges).toEqual(file.edges);
      if (JSON.stringify(listed.flows) !== JSON.stringify(file.flows)) {
        expect(listed.stderr).toMatch(/flows have no known hour/);
      }

      // Shorter than the 30 s List leaves to Goldmane's newest windows: an empty range, nothing to read.
      const tooRecent = await collect(server.port, join(dir, "recent.db"), ["--since", "20s"]);
      expect(tooRecent.stdout).toMatch(/listed 0 flow records \(0 connections\)/);
    });
  });

  describe("explains what is wrong when it cannot collect", () => {
    let server: RunningGoldmaneReplayServer;
    let empty: Server;
    let emptyPort: number;
    beforeAll(async () => {
      server = await startGoldmaneReplayServer({ flows, credentials: serverCredentials(), listen: "127.0.0.1:0" });
      empty = new Server();
      emptyPort = await new Promise((resolve, reject) =>
        empty.bindAsync("127.0.0.1:0", serverCredentials(), (err, p) => (err ? reject(err) : resolve(p))),
      );
    });
    afterAll(async () => {
      await server.close();
      empty.forceShutdown();
    });

    it.each([
      [
        "an unknown CA",
        () => tlsFlags({ "--tls-ca-cert-files": certs.otherCaCert }),
        /TLS verification of .* failed/,
        /--tls-ca-cert-files/,
      ],
      [
        "a wrong server name",
        () => tlsFlags({ "--tls-server-name": "wrong.example" }),
        /not valid for the name/,
        /--tls-server-name/,
      ],
      [
        "a client certificate from another CA",
        () => tlsFlags({ "--tls-client-cert-file": certs.strangerCert, "--tls-client-key-file": certs.strangerKey }),
        /refused the client certificate/,
        /--tls-client-cert-file must be signed by Goldmane's CA/,
      ],
    ])("with %s (exit 1)", async (_what, flags, message, hint) => {
      const r = await startCli([
        "collect",
        "goldmane",
        "--db",
        join(dir, "err.db"),
        "--server",
        `127.0.0.1:${server.port}`,
        "--timeout",
        "5s",
        ...flags(),
      ]).done;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(hint);
      expect(r.stderr).not.toMatch(/ECONNRESET/);
    });

    it("dials an IP address without --tls-server-name: the certificate's IP is checked, no DEP0123", async () => {
      const r = await startCli([
        "collect",
        "goldmane",
        "--db",
        join(dir, "ip.db"),
        "--server",
        `127.0.0.1:${server.port}`,
        ...tlsFlags({ "--tls-server-name": "" }),
      ]).done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/DEP0123|DeprecationWarning/);
    });

    it("with a server that is not Goldmane (exit 1)", async () => {
      const r = await startCli([
        "collect",
        "goldmane",
        "--db",
        join(dir, "err.db"),
        "--server",
        `127.0.0.1:${emptyPort}`,
        ...tlsFlags(),
      ]).done;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/does not implement goldmane.Flows/);
    });

    it("with nothing listening (exit 1)", async () => {
      empty.forceShutdown();
      const r = await startCli([
        "collect",
        "goldmane",
        "--db",
        join(dir, "err.db"),
        "--server",
        `127.0.0.1:${emptyPort}`,
        "--timeout",
        "3s",
        ...tlsFlags(),
      ]).done;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/connection refused|did not answer/);
      expect(r.stderr).toMatch(/port-forward/);
    });

    it.each([
      [
        "a client key that is not the certificate's",
        () => tlsFlags({ "--tls-client-key-file": certs.strangerKey }),
        /--tls-client-key-file .* is not the private key of --tls-client-cert-file/,
      ],
      [
        "no client certificate",
        () => tlsFlags({ "--tls-client-cert-file": "", "--tls-client-key-file": "" }),
        /mutual TLS only/,
      ],
      [
        "a missing CA file",
        () => tlsFlags({ "--tls-ca-cert-files": join(dir, "nope.crt") }),
        /--tls-ca-cert-files: cannot read/,
      ],
      ["a CA file that is not PEM", () => tlsFlags({ "--tls-ca-cert-files": flowsFile }), /is not a PEM file/],
    ])("with %s (usage error, exit 2)", (_what, flags, message) => {
      const r = runCli(["collect", "goldmane", "--db", join(dir, "err.db"), "--server", "127.0.0.1:1", ...flags()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error|this is a bug|\n\s+at /);
    });
  });
});
