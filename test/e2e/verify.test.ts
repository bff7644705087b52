import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { makeRepo } from "../helpers/git-repo.js";
import { makeMtlsFiles } from "../helpers/mtls-certs.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";
import { startHubbleReplayServer } from "../helpers/processes.js";

const FLOWS = join(REPO_ROOT, "test/fixtures/verify/flows-after-wave.jsonl");
const GENERATED = join(REPO_ROOT, "test/fixtures/rollout/generated");
const BRANCH = "flowpol/network-policies";
const SINCE = "2026-11-26T14:00:00Z";

let tmp: { dir: string; cleanup: () => void };
let repo: string;

beforeAll(() => {
  tmp = tempDir("flowpol-verify-");
  ({ repo } = makeRepo(tmp.dir));
  const r = runCli(["rollout", "--repo", repo, "--from", GENERATED, "--no-db"]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => tmp.cleanup());

function verify(...args: string[]) {
  return runCli(["verify", FLOWS, "--since", SINCE, ...args]);
}

describe("flowpol verify", () => {
  it("fails with exit 3 on a flow dropped by policy since the wave began, matched to the wave's policies", () => {
    const r = verify("--wave", "3.2", "--repo", repo, "--ref", BRANCH);
    expect(r.stdout).toContain(
      "7 flows read, 6 since 2026-11-26T14:00:00.000Z, 3 wave policies; 3 flow(s) dropped or audited by policy",
    );
    expect(r.stdout).toContain(
      "DROPPED shop/loadgenerator -> shop/cartservice 7070/TCP x2 (POLICY_DENIED), 2026-11-26T14:10:00.000Z .. 2026-11-26T14:11:00.000Z\n" +
        "  wave policies: NetworkPolicy/shop/allow-frontend-to-cartservice, NetworkPolicy/shop/allow-ingress-nginx-to-shop, NetworkPolicy/shop/default-deny-ingress\n",
    );
    // An egress audit is not this ingress wave's doing.
    expect(r.stdout).toContain(
      "AUDIT shop/frontend -> world (203.0.113.7) 443/TCP x1, 2026-11-26T14:20:00.000Z .. 2026-11-26T14:20:00.000Z\n" +
        "  wave policies: none selects either side (stopped by a policy outside this wave)\n",
    );
    expect(r.stderr).toContain("error: 3 flow(s) dropped or audited by policy since 2026-11-26T14:00:00.000Z");
    expect(r.code).toBe(3);
  });

  it("matches the wave's policies given as files", () => {
    const r = verify("--policies", join(GENERATED, "shop/allow-dns.yaml"), join(GENERATED, "shop/default-deny.yaml"));
    expect(r.stdout).toContain("  wave policies: NetworkPolicy/shop/allow-dns, NetworkPolicy/shop/default-deny\n");
    expect(r.code).toBe(3);
  });

  it.each([
    ["the drop before the wave began", "2026-11-26T13:50:00.000Z"],
    ["the drop that was not by policy", "SERVICE_BACKEND_NOT_FOUND"],
    ["forwarded flows", "8443/TCP"],
  ])("does not report %s", (_, text) => {
    expect(verify().stdout).not.toContain(text);
  });

  it("passes with exit 0 when nothing was dropped since the wave began", () => {
    const r = runCli([
      "verify",
      FLOWS,
      "--since",
      "2026-11-26T14:25:00Z",
      "--wave",
      "4.2",
      "--repo",
      repo,
      "--ref",
      BRANCH,
    ]);
    expect(r.stdout).toContain("0 flow(s) dropped or audited by policy");
    expect(r.code).toBe(0);
  });

  it("prints one JSON object with --json", () => {
    const r = verify("--json");
    const report = JSON.parse(r.stdout) as {
      stopped: number;
      flowsRead: number;
      findings: Array<{ verdict: string; count: number }>;
    };
    expect(report.flowsRead).toBe(7);
    expect(report.stopped).toBe(3);
    expect(report.findings.map((f) => [f.verdict, f.count])).toEqual([
      ["dropped", 2],
      ["audit", 1],
    ]);
    expect(r.code).toBe(3);
  });

  it("takes --since as a duration before now", () => {
    const r = runCli(["verify", FLOWS, "--since", "1h"]);
    expect(r.stderr).toMatch(/no flow at or after .* in the input: nothing was verified/);
    expect(r.code).toBe(1);
  });
});

describe("flowpol verify from Hubble Relay (the replay server on loopback)", () => {
  it("reads the flows since the wave began over gRPC and finds the same drops as from the file", async () => {
    const server = await startHubbleReplayServer(["--from", FLOWS]);
    try {
      const grpc = runCli(["verify", "--server", `127.0.0.1:${server.port}`, "--since", SINCE, "--json"]);
      const file = verify("--json");
      expect(grpc.code, grpc.stderr).toBe(3);
      const a = JSON.parse(grpc.stdout) as { findings: unknown[]; stopped: number };
      const b = JSON.parse(file.stdout) as { findings: unknown[]; stopped: number };
      expect(a.stopped).toBe(3);
      expect(a.findings).toEqual(b.findings);
    } finally {
      await server.stop();
    }
  });

  it("over TLS to an IP address: verifies the certificate's IP, with no TLS server name warning (DEP0123)", async () => {
    const { dir, cleanup } = tempDir("flowpol-verify-tls-");
    const certs = makeMtlsFiles(dir);
    const server = await startHubbleReplayServer([
      "--from",
      FLOWS,
      "--tls-cert",
      certs.serverCert,
      "--tls-key",
      certs.serverKey,
    ]);
    try {
      const address = `127.0.0.1:${server.port}`;
      const tls = runCli([
        "verify",
        "--server",
        address,
        "--tls",
        "--tls-ca-cert-files",
        certs.caCert,
        "--since",
        SINCE,
      ]);
      expect(tls.code, tls.stderr).toBe(3);
      expect(tls.stderr).not.toMatch(/DEP0123|DeprecationWarning/);

      const plain = runCli(["verify", "--server", address, "--since", SINCE, "--timeout", "5s"]);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/speaks TLS and flowpol connected without it/);
      expect(plain.stderr).toMatch(/add --tls/);
    } finally {
      await server.stop();
      cleanup();
    }
  });

  it("fails with a source error when nothing listens", () => {
    const r = runCli(["verify", "--server", "127.0.0.1:1", "--since", SINCE, "--timeout", "5s"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("127.0.0.1:1");
  });
});

describe("flowpol verify refuses bad input", () => {
  it.each([
    ["a --since that is not a time", ["--since", "yesterday"], 2, /--since yesterday is not a time/],
    [
      "a wave with no commit",
      ["--since", SINCE, "--wave", "9", "--ref", BRANCH],
      2,
      /no commit of wave 9 on flowpol\/network-policies/,
    ],
    [
      "both --policies and --wave",
      ["--since", SINCE, "--wave", "2", "--policies", GENERATED],
      2,
      /--policies and --wave both/,
    ],
    [
      "a missing policy file",
      ["--since", SINCE, "--policies", "/nonexistent.yaml"],
      1,
      /--policies \/nonexistent\.yaml: no such file/,
    ],
  ])("%s", (_, args, code, message) => {
    const r = runCli(["verify", FLOWS, "--repo", repo, ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(code);
  });

  it.each([
    ["no flow files and no --server", ["verify", "--since", SINCE], /verify needs flows to read/],
    [
      "both flow files and --server",
      ["verify", FLOWS, "--server", "127.0.0.1:1", "--since", SINCE],
      /flow files or --server, not both/,
    ],
  ])("%s", (_, args, message) => {
    const r = runCli(args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });

  it("reports bad lines and still fails on the drops", () => {
    const file = join(tmp.dir, "with-bad-line.jsonl");
    writeFileSync(file, `{"flow": {"time": \n${readFileSync(FLOWS, "utf8")}`);
    const r = runCli(["verify", file, "--since", SINCE]);
    expect(r.stderr).toContain(`warning: ${file}:1: the line is not valid JSON`);
    expect(r.code).toBe(3);
  });

  it("exits 1 when bad lines leave the check incomplete", () => {
    const file = join(tmp.dir, "bad-only.jsonl");
    writeFileSync(file, `${readFileSync(FLOWS, "utf8").split("\n")[1]}\nnot json\n`);
    const r = runCli(["verify", file, "--since", SINCE]);
    expect(r.stderr).toContain("1 bad line(s) in the flow input: the check is incomplete");
    expect(r.code).toBe(1);
  });

  it("rejects a file that holds no flow records", () => {
    const file = join(tmp.dir, "not-flows.jsonl");
    writeFileSync(file, '{"hello": "world"}\n');
    const r = runCli(["verify", file, "--since", SINCE]);
    expect(r.stderr).toContain("is not a flow file");
    expect(r.code).toBe(1);
  });
});
