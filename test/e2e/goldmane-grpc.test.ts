import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromJson } from "@bufbuild/protobuf";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningReplayServer, startGoldmaneReplayServer } from "../../src/collect/goldmane/replay-server.js";
import { type Flow, FlowSchema } from "../../src/gen/goldmane/goldmane_pb.js";
import { GoldmaneEmitter } from "../../src/samples/emit-goldmane.js";
import { SCENARIOS } from "../../src/samples/online-boutique.js";
import { buildCluster, simulateEvents } from "../../src/samples/simulate.js";
import { openStore } from "../../src/store/db.js";
import { runCli } from "../helpers/cli.js";
import { startCli } from "../helpers/cli-async.js";
import { type MtlsFiles, makeMtlsFiles } from "../helpers/mtls-certs.js";
import { tempDir } from "../helpers/paths.js";
import { readEdges, readTable } from "../helpers/store.js";

let dir: string;
let cleanup: () => void;
let certs: MtlsFiles;
let flows: Flow[];
let flowsFile: string;
let fileDb: string;

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

function collectedFlows(db: string): number {
  const rows = readTable(db, "SELECT coalesce(sum(flows), 0) AS n FROM ingests WHERE kind = 'grpc'") as Array<{
    n: number;
  }>;
  return rows[0]?.n ?? 0;
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir("flowpol-goldmane-"));
  certs = makeMtlsFiles(dir);
  const cluster = buildCluster(SCENARIOS["online-boutique"] as NonNullable<(typeof SCENARIOS)[string]>, 3);
  const emitter = new GoldmaneEmitter();
  const lines: string[] = [];
  for (const event of simulateEvents(cluster, 1500, 4)) lines.push(...emitter.lines(event));
  lines.push(...emitter.flush());
  flowsFile = join(dir, "goldmane.jsonl");
  writeFileSync(flowsFile, `${lines.join("\n")}\n`);
  flows = lines.map((l) => fromJson(FlowSchema, JSON.parse(l)));
  fileDb = join(dir, "file.db");
  const r = runCli(["ingest", "--db", fileDb, flowsFile]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => cleanup());

describe("flowpol collect goldmane against a replay server with mutual TLS", () => {
  it("lists Goldmane's history page by page into the same store as a file ingest of the same flows", async () => {
    const server = await startGoldmaneReplayServer({ flows, credentials: serverCredentials(), listen: "127.0.0.1:0" });
    try {
      const db = join(dir, "list.db");
      const run = startCli([
        "collect",
        "goldmane",
        "--db",
        db,
        "--server",
        `127.0.0.1:${server.port}`,
        "--page-size",
        "100",
        ...tlsFlags(),
      ]);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`listed ${flows.length} flow records .* 0 duplicates dropped, 0 reconnects, 0 bad; stopped by end`),
      );
      expect(readEdges(db)).toEqual(readEdges(fileDb));
    } finally {
      await server.close();
    }
  });

  it("streams with --follow through dropped streams and a server restart, losing and doubling nothing", async () => {
    let server: RunningReplayServer = await startGoldmaneReplayServer({
      flows,
      credentials: serverCredentials(),
      listen: "127.0.0.1:0",
      dropStreamAfter: Math.ceil(flows.length / 3),
    });
    const port = server.port;
    const db = join(dir, "stream.db");
    const run = startCli([
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
      const expected =
        collectedFlows(fileDb) ||
        (readTable(fileDb, "SELECT sum(flows) AS n FROM ingests") as Array<{ n: number }>)[0]?.n;
      const waitFor = async (predicate: () => boolean, what: string) => {
        for (let i = 0; i < 300 && !predicate(); i++) await new Promise((r) => setTimeout(r, 100));
        if (!predicate())
          throw new Error(`timed out waiting for ${what}; collector stderr: ${run.child.stderr ? "" : ""}`);
      };
      const progress = () => {
        try {
          return collectedFlows(db);
        } catch {
          return 0;
        }
      };
      await waitFor(() => progress() > 0, "the first flows");
      server.kill();
      await new Promise((r) => setTimeout(r, 300));
      server = await startGoldmaneReplayServer({
        flows,
        credentials: serverCredentials(),
        listen: `127.0.0.1:${port}`,
      });
      await waitFor(() => progress() >= (expected ?? 0), "every flow");
      run.child.kill("SIGINT");
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/streamed \d+ flow records .*stopped by signal/);
      const summary = /(\d+) duplicates dropped, (\d+) reconnects/.exec(r.stdout);
      expect(Number(summary?.[1])).toBeGreaterThan(0);
      expect(Number(summary?.[2])).toBeGreaterThan(0);
      expect(readEdges(db)).toEqual(readEdges(fileDb));
    } finally {
      run.child.kill("SIGKILL");
      await server.close();
    }
  });

  it("resumes a second run where the first stopped, through a window cut in two, counting nothing twice", async () => {
    // The first run sees Goldmane's history up to the middle of a window; the second sees all of it.
    const sorted = [...flows].sort((a, b) => Number(a.startTime - b.startTime));
    let cut = Math.floor(sorted.length / 2);
    while (cut < sorted.length - 1 && sorted[cut - 1]?.startTime !== sorted[cut]?.startTime) cut++;
    expect(sorted[cut - 1]?.startTime).toBe(sorted[cut]?.startTime);
    const db = join(dir, "resume.db");
    // The cursor belongs to the server address: every run talks to the same port.
    let port = 0;
    const collect = async (serverFlows: Flow[], extra: string[]) => {
      const server = await startGoldmaneReplayServer({
        flows: serverFlows,
        credentials: serverCredentials(),
        listen: `127.0.0.1:${port}`,
      });
      port = server.port;
      try {
        const args = ["collect", "goldmane", "--db", db, "--server", `127.0.0.1:${server.port}`];
        const r = await startCli([...args, ...extra, ...tlsFlags()]).done;
        expect(r.code, r.stderr).toBe(0);
        return r;
      } finally {
        await server.close();
      }
    };
    const first = await collect(sorted.slice(0, cut), []);
    expect(first.stderr).not.toMatch(/resuming/);
    expect(first.stdout).toMatch(new RegExp(`listed ${cut} flow records .* 0 duplicates dropped`));

    // As if the first run had been killed before it could finish: the next run marks it failed.
    const store = openStore(db);
    store.prepare("UPDATE ingests SET status = 'running', finished_at = NULL").run();
    store.close();

    const second = await collect(sorted, ["--follow", "--duration", "3s"]);
    expect(readTable(db, "SELECT status FROM ingests ORDER BY id")).toEqual([
      { status: "failed" },
      { status: "complete" },
    ]);
    const window = new Date(Number(sorted[cut]?.startTime) * 1000).toISOString();
    expect(second.stderr).toContain(`resuming at the window of ${window}`);
    // The stream starts at the cut window: the flows of that window stored by the first run are dropped.
    const atCut = sorted.slice(0, cut).filter((f) => f.startTime === sorted[cut]?.startTime).length;
    expect(second.stdout).toMatch(
      new RegExp(`streamed ${sorted.length - cut + atCut} flow records .* ${atCut} duplicates dropped`),
    );
    expect(readEdges(db)).toEqual(readEdges(fileDb));

    const third = await collect(sorted, []);
    expect(third.stdout).toMatch(/listed \d+ flow records \(0 connections\)/);
    expect(readEdges(db)).toEqual(readEdges(fileDb));

    // A --since later than the cursor moves the start: the recorded history is days old.
    const fourth = await collect(sorted, ["--since", "1h"]);
    expect(fourth.stdout).toMatch(/listed 0 flow records/);
  });

  describe("explains what is wrong when it cannot collect", () => {
    let server: RunningReplayServer;
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
        /TLS: cannot verify .*certificate/,
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
        /TLS: .* refused the TLS handshake|cannot connect to Goldmane/,
        /--tls-client-cert-file/,
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
    });
  });
});
