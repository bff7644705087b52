import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observerServiceDefinition } from "../../src/collect/hubble/observer-service.js";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, SHARED_HUBBLE, tempDir } from "../helpers/paths.js";
import { type ReplayServer, spawnCli, startHubbleReplayServer } from "../helpers/processes.js";
import { describeWithShared, sharedFiles } from "../helpers/shared.js";
import { storeContent } from "../helpers/store-tables.js";

const SAMPLES = sharedFiles(SHARED_HUBBLE, ".jsonl").map((f) => join(SHARED_HUBBLE, f));
const SAMPLE_FLOWS = 1170;

const tmp = tempDir("flowpol-grpc-");
let fileStore: Record<string, string[]>;

function statsOf(db: string) {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { flows: number; lostEvents: number; gaps: number; unavailableNodes: string[] };
}

beforeAll(() => {
  if (SAMPLES.length === 0) return;
  const db = join(tmp.dir, "file.db");
  const r = runCli(["ingest", "--db", db, ...SAMPLES]);
  expect(r.code, r.stderr).toBe(0);
  fileStore = storeContent(db);
});
afterAll(() => tmp.cleanup());

/** A server shared by the tests of a block (stopped in afterAll): its `stop` does nothing. */
function shared(server: ReplayServer | undefined): ReplayServer {
  if (!server) throw new Error("the shared replay server did not start");
  return { ...server, stop: async () => {} };
}

describeWithShared([SHARED_HUBBLE], "flowpol collect hubble from the replay server", () => {
  let plain: ReplayServer | undefined;
  beforeAll(async () => {
    plain = await startHubbleReplayServer(["--from", ...SAMPLES]);
  });
  afterAll(async () => {
    await plain?.stop();
  });
  it("stores exactly what a file ingest of the same recordings stores, and a second run adds nothing", async () => {
    const server = shared(plain);
    try {
      const db = join(tmp.dir, "collect.db");
      const first = runCli(["collect", "hubble", "--server", `127.0.0.1:${server.port}`, "--db", db]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain(`${SAMPLE_FLOWS}/${SAMPLE_FLOWS} flows in the ring buffer`);
      expect(first.stdout).toContain(`${SAMPLE_FLOWS} flows`);
      expect(storeContent(db)).toEqual(fileStore);
      const lostEvents = statsOf(db).lostEvents;

      const second = runCli(["collect", "hubble", "--server", `127.0.0.1:${server.port}`, "--db", db]);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toContain("resuming after");
      expect(second.stdout).toMatch(/: 0 flows/);
      expect(storeContent(db)).toEqual(fileStore);
      expect(statsOf(db).flows).toBe(SAMPLE_FLOWS);
      // The lost-events records re-sent with the flows are stored once too.
      expect(statsOf(db).lostEvents).toBe(lostEvents);
    } finally {
      await server.stop();
    }
  });

  it.each([
    ["decoding on its main thread", ["--workers", "0"]],
    ["with a decode worker", ["--workers", "1"]],
  ])(
    "stores exactly what a file ingest stores for the bundled simulated sample (gzip, flows with uuids), %s",
    async (_how, workers) => {
      const sample = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
      const server = await startHubbleReplayServer(["--from", sample]);
      try {
        const fileDb = join(tmp.dir, `sample-file-${workers[1]}.db`);
        const grpcDb = join(tmp.dir, `sample-grpc-${workers[1]}.db`);
        expect(runCli(["ingest", "--db", fileDb, sample]).code).toBe(0);
        const r = runCli(["collect", "hubble", "--server", `127.0.0.1:${server.port}`, "--db", grpcDb, ...workers]);
        expect(r.code, r.stderr).toBe(0);
        expect(storeContent(grpcDb)).toEqual(storeContent(fileDb));
        const [a, b] = [statsOf(grpcDb), statsOf(fileDb)];
        expect([a.flows, a.lostEvents]).toEqual([b.flows, b.lostEvents]);
      } finally {
        await server.stop();
      }
    },
  );

  it("reconnects when the server is killed and restarted mid-stream, and counts each flow once", async () => {
    const db = join(tmp.dir, "restart.db");
    let server = await startHubbleReplayServer(["--from", ...SAMPLES, "--rate", "2000"]);
    const port = server.port;
    const collector = spawnCli(["collect", "hubble", "--server", `127.0.0.1:${port}`, "--db", db, "--workers", "0"]);
    try {
      while (!collector.stderr().includes("connected to") && collector.child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 150));
      server.process.child.kill("SIGKILL");
      await server.process.exited;
      await new Promise((r) => setTimeout(r, 300));
      server = await startHubbleReplayServer(["--from", ...SAMPLES, "--rate", "4000"], port);
      const code = await collector.exited;
      expect(code, collector.stderr()).toBe(0);
      expect(collector.stderr()).toMatch(/reconnecting in/);
      expect(collector.stdout()).toMatch(/re-sent events dropped|reconnect/);
      expect(storeContent(db)).toEqual(fileStore);
      expect(statsOf(db).flows).toBe(SAMPLE_FLOWS);
    } finally {
      collector.child.kill("SIGKILL");
      await server.stop();
    }
  });

  it("on SIGTERM during --follow flushes what it has and exits 0 with a summary", async () => {
    const server = shared(plain);
    const db = join(tmp.dir, "follow.db");
    const collector = spawnCli(["collect", "hubble", "--server", `127.0.0.1:${server.port}`, "--db", db, "--follow"]);
    try {
      while (!collector.stderr().includes("connected to") && collector.child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 1000));
      collector.child.kill("SIGTERM");
      expect(await collector.exited, collector.stderr()).toBe(0);
      const m = collector.stdout().match(/collected from .*: (\d+) flows.*\(interrupted\)/);
      expect(m, collector.stdout()).not.toBeNull();
      const flows = Number(m?.[1]);
      expect(flows).toBeGreaterThan(0);
      expect(statsOf(db).flows).toBe(flows);
    } finally {
      await server.stop();
    }
  });

  it("stops after --duration in --follow mode", async () => {
    const server = shared(plain);
    try {
      const db = join(tmp.dir, "duration.db");
      const r = runCli([
        "collect",
        "hubble",
        "--server",
        `127.0.0.1:${server.port}`,
        "--db",
        db,
        "-f",
        "--duration",
        "4s",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const m = r.stdout.match(/: (\d+) flows.*\(--duration\)/);
      expect(m, r.stdout).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThan(0);
      expect(statsOf(db).flows).toBe(Number(m?.[1]));
    } finally {
      await server.stop();
    }
  });

  it("records lost events and unavailable nodes as gaps that stats shows", async () => {
    const server = await startHubbleReplayServer([
      "--from",
      ...SAMPLES,
      "--lost-every",
      "100",
      "--unavailable-node",
      "node-x",
    ]);
    try {
      const db = join(tmp.dir, "gaps.db");
      const r = runCli(["collect", "hubble", "--server", `127.0.0.1:${server.port}`, "--db", db]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("unavailable node(s), their flows are missing (recorded as gaps): node-x");
      const s = statsOf(db);
      expect(s.lostEvents).toBe(Math.floor(SAMPLE_FLOWS / 100));
      expect(s.unavailableNodes).toEqual(["node-x"]);
      const text = runCli(["stats", "--db", db]).stdout;
      expect(text).toMatch(/unavailable nodes\s+1 \(node-x\)/);
      expect(text).toMatch(/lost events\s+11/);
    } finally {
      await server.stop();
    }
  });

  it("honours --last, --namespace and --since/--until on the server side", async () => {
    const server = shared(plain);
    const at = `127.0.0.1:${server.port}`;
    try {
      const last = runCli(["collect", "hubble", "--server", at, "--db", join(tmp.dir, "last.db"), "--last", "25"]);
      expect(last.code, last.stderr).toBe(0);
      expect(statsOf(join(tmp.dir, "last.db")).flows).toBe(25);

      const nsDb = join(tmp.dir, "ns.db");
      const ns = runCli(["collect", "hubble", "--server", at, "--db", nsDb, "--namespace", "bookinfo"]);
      expect(ns.code, ns.stderr).toBe(0);
      const edges = (storeContent(nsDb).edges ?? []).map((e) => JSON.parse(e) as string[]);
      expect(edges.length).toBeGreaterThan(0);
      for (const e of edges) expect([e[1], e[6]]).toContain("bookinfo");
      expect(statsOf(nsDb).flows).toBeLessThan(SAMPLE_FLOWS);

      const window = runCli([
        "collect",
        "hubble",
        "--server",
        at,
        "--db",
        join(tmp.dir, "window.db"),
        "--since",
        "2021-06-16T16:52:13Z",
        "--until",
        "2021-06-16T16:52:14Z",
      ]);
      expect(window.code, window.stderr).toBe(0);
      const w = statsOf(join(tmp.dir, "window.db"));
      expect(w.flows).toBeGreaterThan(0);
      expect(w.flows).toBeLessThan(SAMPLE_FLOWS);
    } finally {
      await server.stop();
    }
  });
});

describeWithShared([SHARED_HUBBLE], "flowpol collect hubble over TLS", () => {
  const certs = tempDir("flowpol-certs-");
  const pem = (name: string) => join(certs.dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: certs.dir, stdio: "pipe" });

  const startTlsServer = (mutual: boolean) =>
    startHubbleReplayServer([
      "--from",
      ...SAMPLES,
      "--tls-cert",
      pem("server.crt"),
      "--tls-key",
      pem("server.key"),
      ...(mutual ? ["--tls-client-ca", pem("ca.crt")] : []),
    ]);
  let tls: ReplayServer | undefined;
  let mtls: ReplayServer | undefined;
  beforeAll(async () => {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=flowpol test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
    );
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=other CA",
      "-keyout",
      "other-ca.key",
      "-out",
      "other-ca.crt",
    );
    const issue = (name: string, subject: string, ext: string, ca = "ca") => {
      writeFileSync(pem(`${name}.ext`), ext);
      openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        subject,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
      );
      openssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        `${ca}.crt`,
        "-CAkey",
        `${ca}.key`,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.crt`,
      );
    };
    issue(
      "server",
      "/CN=relay.hubble-relay.cilium.io",
      "subjectAltName=DNS:relay.hubble-relay.cilium.io,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    );
    issue("client", "/CN=flowpol", "extendedKeyUsage=clientAuth\n");
    issue("stranger", "/CN=stranger", "extendedKeyUsage=clientAuth\n", "other-ca");
    [tls, mtls] = await Promise.all([startTlsServer(false), startTlsServer(true)]);
  });
  afterAll(async () => {
    await Promise.all([tls?.stop(), mtls?.stop()]);
    certs.cleanup();
  });

  const tlsServer = async (mutual: boolean) => shared(mutual ? mtls : tls);

  it("collects over TLS verified by --tls-ca-cert-files, with --tls-server-name", async () => {
    const server = await tlsServer(false);
    try {
      const db = join(tmp.dir, "tls.db");
      const r = runCli([
        "collect",
        "hubble",
        "--server",
        `127.0.0.1:${server.port}`,
        "--db",
        db,
        "--tls",
        "--tls-ca-cert-files",
        pem("ca.crt"),
        "--tls-server-name",
        "relay.hubble-relay.cilium.io",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(storeContent(db)).toEqual(fileStore);
    } finally {
      await server.stop();
    }
  });

  it("collects over mutual TLS with a client certificate", async () => {
    const server = await tlsServer(true);
    try {
      const db = join(tmp.dir, "mtls.db");
      const r = runCli([
        "collect",
        "hubble",
        "--server",
        `127.0.0.1:${server.port}`,
        "--db",
        db,
        "--tls-ca-cert-files",
        pem("ca.crt"),
        "--tls-client-cert-file",
        pem("client.crt"),
        "--tls-client-key-file",
        pem("client.key"),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(storeContent(db)).toEqual(fileStore);
    } finally {
      await server.stop();
    }
  });

  it("warns loudly with --tls-allow-insecure and still connects", async () => {
    const server = await tlsServer(false);
    try {
      const r = runCli([
        "collect",
        "hubble",
        "--server",
        `127.0.0.1:${server.port}`,
        "--db",
        join(tmp.dir, "insecure.db"),
        "--tls-allow-insecure",
        "--last",
        "3",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("WARNING: --tls-allow-insecure");
    } finally {
      await server.stop();
    }
  });

  it.each([
    {
      what: "a server certificate signed by an unknown CA is a TLS verification failure",
      mutual: false,
      flags: ["--tls", "--tls-ca-cert-files", "other-ca.crt"],
      message: /TLS verification of .* failed/,
      hint: /--tls-ca-cert-files/,
    },
    {
      what: "no CA at all for a private CA is a TLS verification failure",
      mutual: false,
      flags: ["--tls"],
      message: /TLS verification of .* failed/,
      hint: /--tls-ca-cert-files/,
    },
    {
      what: "a server name the certificate does not carry is named as such",
      mutual: false,
      flags: ["--tls-ca-cert-files", "ca.crt", "--tls-server-name", "wrong.example.com"],
      message: /not valid for the name/,
      hint: /--tls-server-name/,
    },
    {
      what: "a missing client certificate for a mutual-TLS server is named as such",
      mutual: true,
      flags: ["--tls-ca-cert-files", "ca.crt"],
      message: /requires a client certificate|refused the TLS handshake/,
      hint: /--tls-client-cert-file/,
    },
    {
      what: "a client certificate the server refuses is named as such, with the flag",
      mutual: true,
      flags: [
        "--tls-ca-cert-files",
        "ca.crt",
        "--tls-client-cert-file",
        "stranger.crt",
        "--tls-client-key-file",
        "stranger.key",
      ],
      message: /refused the client certificate/,
      hint: /--tls-client-cert-file must be signed by a CA the server trusts/,
    },
    {
      what: "a plaintext client of a TLS server is told the server speaks TLS",
      mutual: false,
      flags: [],
      message: /speaks TLS and flowpol connected without it/,
      hint: /add --tls/,
    },
    {
      what: "a plaintext client of a mutual-TLS server is told it needs TLS and a client certificate",
      mutual: true,
      flags: [],
      message: /speaks TLS and flowpol connected without it/,
      hint: /add --tls .*--tls-client-cert-file/,
    },
  ])("$what", async ({ mutual, flags, message, hint }) => {
    const server = await tlsServer(mutual);
    try {
      const args = flags.map((f) => (f.endsWith(".crt") || f.endsWith(".key") ? pem(f) : f));
      const r = runCli([
        "collect",
        "hubble",
        "--server",
        `127.0.0.1:${server.port}`,
        "--db",
        join(tmp.dir, "tls-error.db"),
        ...args,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(hint);
      expect(r.stderr).not.toMatch(/DEP0123|check the server's logs/);
    } finally {
      await server.stop();
    }
  });

  it("names a client key that is not the certificate's, both files and flags (usage error)", () => {
    const r = runCli([
      "collect",
      "hubble",
      "--server",
      "127.0.0.1:1",
      "--db",
      join(tmp.dir, "tls-error.db"),
      "--tls-ca-cert-files",
      pem("ca.crt"),
      "--tls-client-cert-file",
      pem("client.crt"),
      "--tls-client-key-file",
      pem("stranger.key"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tls-client-key-file .*stranger.key is not the private key of --tls-client-cert-file/);
    expect(r.stderr).not.toMatch(/internal error|this is a bug|\n\s+at /);
  });
});

describe("flowpol collect hubble errors", () => {
  it("names a refused connection and the --server flag", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = runCli(["collect", "hubble", "--server", `127.0.0.1:${port}`, "--db", join(tmp.dir, "refused.db")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot connect to 127.0.0.1:${port}: connection refused`);
    expect(r.stderr).toMatch(/fix: .*--server/);
  });

  it("names a server that does not implement the Observer API", async () => {
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      // In-process servers need the event loop: run the CLI asynchronously.
      const p = spawnCli(["collect", "hubble", "--server", `127.0.0.1:${port}`, "--db", join(tmp.dir, "unimpl.db")]);
      expect(await p.exited).toBe(1);
      expect(p.stderr()).toContain("does not implement the Hubble Observer API");
      expect(p.stderr()).toMatch(/fix: point --server at Hubble Relay/);
    } finally {
      server.forceShutdown();
    }
  });

  it("names a server that does not answer within --request-timeout", async () => {
    const server = new Server();
    server.addService(observerServiceDefinition, { ServerStatus: () => {}, GetFlows: () => {}, GetNodes: () => {} });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      const r = runCli([
        "collect",
        "hubble",
        "--server",
        `127.0.0.1:${port}`,
        "--db",
        join(tmp.dir, "deadline.db"),
        "--request-timeout",
        "300ms",
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("did not answer within 0.3s");
      expect(r.stderr).toMatch(/--request-timeout/);
    } finally {
      server.forceShutdown();
    }
  });

  it.each([
    { what: "--last with --since", args: ["--last", "5", "--since", "1h"], message: /--last cannot be combined/ },
    { what: "a --since that is no time", args: ["--since", "yesterday"], message: /--since "yesterday" is neither/ },
    {
      what: "a --duration that is no duration",
      args: ["--duration", "soon"],
      message: /--duration "soon" is not a duration/,
    },
    { what: "a --server without a port", args: ["--server", "relay"], message: /--server "relay" is not host:port/ },
    { what: "a client certificate without its key", args: ["--tls-client-cert-file", "x.crt"], message: /go together/ },
  ])("rejects $what as a usage error", ({ args, message }) => {
    const r = runCli(["collect", "hubble", "--db", join(tmp.dir, "usage.db"), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
