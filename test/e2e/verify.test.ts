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
        "  wave policies: NetworkPolicy/shop/allow-frontend-to-cartservice, NetworkPolicy/shop/allow-ingress-nginx-to-shop, NetworkPolicy/shop/default-deny-ingress (deny it at ingress)\n",
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
    // The engine's verdict: default-deny isolates both sides, allow-dns the egress (port 53 only).
    expect(r.stdout).toContain(
      "  wave policies: NetworkPolicy/shop/allow-dns, NetworkPolicy/shop/default-deny (deny it at egress and ingress)\n",
    );
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
    const r = verify("-o", "json");
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
      const grpc = runCli(["verify", "--server", `127.0.0.1:${server.port}`, "--since", SINCE, "-o", "json"]);
      const file = verify("-o", "json");
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
    [
      "a --since that is not a time",
      ["--since", "yesterday"],
      2,
      /--since "yesterday" is neither a duration nor an ISO 8601 time/,
    ],
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
      /no such file or folder: \/nonexistent\.yaml[\s\S]*--policies/,
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

describe("flowpol verify judges with the policy engine, in every flavor", () => {
  const write = (name: string, text: string) => {
    const file = join(tmp.dir, name);
    writeFileSync(file, text);
    return file;
  };

  it("reads a CiliumNetworkPolicy as diff does (the old stand-in selector missed `k8s:` keys)", () => {
    const cilium = write(
      "cilium.yaml",
      `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-frontend-to-cartservice, namespace: shop}
spec:
  endpointSelector: {matchLabels: {"k8s:app": cartservice}}
  ingress:
    - fromEndpoints: [{matchLabels: {"k8s:app": frontend}}]
      toPorts: [{ports: [{port: "7070", protocol: TCP}]}]
`,
    );
    const r = verify("--policies", cilium);
    expect(r.stdout).toContain(
      "DROPPED shop/loadgenerator -> shop/cartservice 7070/TCP x2 (POLICY_DENIED), 2026-11-26T14:10:00.000Z .. 2026-11-26T14:11:00.000Z\n" +
        "  wave policies: CiliumNetworkPolicy/shop/allow-frontend-to-cartservice (deny it at ingress)\n",
    );
    expect(r.code).toBe(3);
  });

  it("attributes a drop only to a staged policy that selects the pod (the stand-in took every pod of its namespace)", () => {
    const staged = write(
      "staged.yaml",
      `apiVersion: projectcalico.org/v3
kind: StagedKubernetesNetworkPolicy
metadata: {name: isolate-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Ingress]
`,
    );
    const r = verify("--policies", staged);
    expect(r.stdout).toContain(
      "DROPPED shop/loadgenerator -> shop/cartservice 7070/TCP x2 (POLICY_DENIED), 2026-11-26T14:10:00.000Z .. 2026-11-26T14:11:00.000Z\n" +
        "  wave policies: none selects either side (stopped by a policy outside this wave)\n",
    );
  });

  it("says when the wave's policies allow the stopped flow", () => {
    const allow = write(
      "allow.yaml",
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-loadgenerator, namespace: shop}
spec:
  podSelector: {matchLabels: {app: cartservice}}
  ingress: [{from: [{podSelector: {matchLabels: {app: loadgenerator}}}]}]
`,
    );
    expect(verify("--policies", allow).stdout).toContain(
      "  wave policies: allow it (stopped by a policy outside this wave)\n",
    );
  });

  it("refuses, with a count, policies the engine cannot evaluate: nothing is judged", () => {
    const global = write(
      "global.yaml",
      `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec: {selector: all()}
`,
    );
    const r = verify("--policies", global, join(GENERATED, "shop/default-deny.yaml"));
    expect(r.stderr).toMatch(/1 policy uses 1 construct flowpol cannot evaluate; nothing was judged/);
    expect(r.stderr).toContain("GlobalNetworkPolicy is not read by flowpol's policy engine");
    expect(r.code).toBe(1);
  });

  it("never verifies against 0 policies: a folder without any is an input error", () => {
    const only = write("configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n");
    const r = verify("--policies", only);
    expect(r.stderr).toMatch(/no policy in .*configmap\.yaml \(1 objects of other kinds\)/);
    expect(r.code).toBe(1);
  });

  it("reads Calico flow logs at aggregation level 1, counts flows as ingest does and judges by their labels", () => {
    const at = Date.parse("2026-11-26T14:10:00Z") / 1000;
    const record = {
      start_time: at,
      end_time: at + 300,
      source_ip: "-",
      source_name: "-",
      source_name_aggr: "loadgenerator-7b6c5d4e3-*",
      source_namespace: "shop",
      source_type: "wep",
      source_labels: { labels: ["app=loadgenerator"] },
      dest_ip: "-",
      dest_name: "-",
      dest_name_aggr: "cartservice-5c9d8b7f6-*",
      dest_namespace: "shop",
      dest_port: 7070,
      dest_type: "wep",
      dest_labels: { labels: ["app=cartservice"] },
      proto: "tcp",
      action: "deny",
      reporter: "dst",
      num_flows: 4,
      num_flows_started: 4,
      num_flows_completed: 4,
    };
    const file = write("calico.log", `${JSON.stringify(record)}\n`);
    const r = runCli(["verify", file, "--since", SINCE, "--policies", join(GENERATED, "shop/default-deny.yaml")]);
    expect(r.stdout).toContain("4 flows read, 4 since");
    expect(r.stdout).toMatch(/DROPPED shop\/loadgenerator\S* -> shop\/cartservice 7070\/TCP x4 \(POLICY_DENIED\)/);
    expect(r.stdout).toContain("  wave policies: NetworkPolicy/shop/default-deny (deny it at egress and ingress)\n");
    expect(r.code).toBe(3);
    const ingest = runCli(["ingest", "--db", join(tmp.dir, "calico.db"), file]);
    expect(ingest.stdout).toContain("4 flows");
  });
});
