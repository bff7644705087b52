import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../helpers/cli.js";
import { makeRepo } from "../helpers/git-repo.js";
import { tempDir } from "../helpers/paths.js";

/** `flowpol generate` never widens external peers over a metadata address, nor to every address. */

let dir: string;
let cleanup: () => void;
let db: string;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  db = join(dir, "flowpol.db");
});
afterEach(() => cleanup());

const frontend = {
  identity: 10001,
  namespace: "shop",
  labels: ["k8s:app=frontend", "k8s:io.kubernetes.pod.namespace=shop"],
  pod_name: "frontend-7d4b8c9f5-xk2mh",
  workloads: [{ name: "frontend", kind: "Deployment" }],
};

/** Egress flows from the frontend to each address (TCP 443, 80 for the metadata addresses). */
function ingestEgress(ips: string[]): void {
  const lines = ips.map((ip, i) =>
    JSON.stringify({
      flow: {
        time: new Date(Date.UTC(2026, 0, 5, 10) + i * 1000).toISOString(),
        verdict: "FORWARDED",
        IP: { source: ip.includes(":") ? "fd00::5" : "10.0.1.5", destination: ip },
        l4: { TCP: { source_port: 40000 + i, destination_port: 443 } },
        source: frontend,
        destination: { identity: 2, labels: ["reserved:world"] },
        traffic_direction: "EGRESS",
        is_reply: false,
        node_name: "node-a",
      },
    }),
  );
  const file = join(dir, "flows.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n`);
  const r = runCli(["ingest", "--db", db, file]);
  expect(r.code, r.stderr).toBe(0);
}

function egressBlocks(out: string): unknown {
  const policy = parse(readFileSync(join(out, "shop/allow-frontend-to-external-egress.yaml"), "utf8"));
  return policy.spec.egress.flatMap((r: { to: unknown[] }) => r.to);
}

describe("flowpol generate: widening", () => {
  it("keeps the metadata address out of a widened block with an except", () => {
    ingestEgress(["169.254.169.254", "169.254.1.1"]);
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out, "--cidr-prefix", "16"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("169.254.169.254 was observed and is NOT allowed");
    expect(egressBlocks(out)).toEqual([{ ipBlock: { cidr: "169.254.0.0/16", except: ["169.254.169.254/32"] } }]);
  });

  it("widens over the metadata address without an except only with --allow-metadata", () => {
    ingestEgress(["169.254.169.254", "169.254.1.1"]);
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out, "--cidr-prefix", "16", "--allow-metadata"]);
    expect(r.code, r.stderr).toBe(0);
    expect(egressBlocks(out)).toEqual([{ ipBlock: { cidr: "169.254.0.0/16" } }]);
  });

  it("recognises the IPv6 and IPv4-mapped metadata addresses", () => {
    ingestEgress(["fd00:ec2::254", "::ffff:169.254.169.254", "93.184.216.34"]);
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("fd00:ec2::254 was observed and is NOT allowed");
    expect(r.stderr).toContain("::ffff:169.254.169.254 was observed and is NOT allowed");
    expect(egressBlocks(out)).toEqual([{ ipBlock: { cidr: "93.184.216.34/32" } }]);
  });

  it("puts an except into a widened IPv6 block holding fd00:ec2::254", () => {
    ingestEgress(["fd00:ec2::254", "fd00:ec2::1"]);
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out, "--cidr-prefix-v6", "64"]);
    expect(r.code, r.stderr).toBe(0);
    expect(egressBlocks(out)).toEqual([{ ipBlock: { cidr: "fd00:ec2::/64", except: ["fd00:ec2::254/128"] } }]);
  });

  it("refuses a prefix whose blocks together are every address, unless --allow-any-address", () => {
    ingestEgress(["8.8.8.8", "200.1.1.1"]);
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out, "--cidr-prefix", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cidr-prefix 1 widens the observed addresses of shop\/.* every IPv4 address/);
    expect(existsSync(join(out, "shop"))).toBe(false);
    const allowed = runCli(["generate", "--db", db, "--out", out, "--cidr-prefix", "1", "--allow-any-address"]);
    expect(allowed.code, allowed.stderr).toBe(0);
  });
});

describe("flowpol generate: objects too large to apply", () => {
  it("says which file client-side `kubectl apply` would refuse, and how to apply or shrink it", () => {
    // 8,000 distinct external addresses: one egress policy of about 300 KB as JSON.
    ingestEgress(Array.from({ length: 8000 }, (_, i) => `11.${i >> 8}.${i & 255}.7`));
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const file = "shop/allow-frontend-to-external-egress.yaml";
    expect(r.stderr).toMatch(
      new RegExp(`warning: ${file} is [0-9,]+ bytes as JSON: client-side \`kubectl apply\` .* refuses it`),
    );
    expect(r.stderr).toContain("kubectl apply --server-side");
    expect(r.stderr).toContain("--cidr-prefix");
    const json = JSON.parse(runCli(["generate", "--db", db, "--out", out, "-o", "json"]).stdout);
    expect(json.warnings.filter((w: string) => w.startsWith(file))).toHaveLength(1);
    // Widened to /16 blocks the policy fits, and nothing is said.
    const widened = runCli(["generate", "--db", db, "--out", out, "--cidr-prefix", "16"]);
    expect(widened.code, widened.stderr).toBe(0);
    expect(widened.stderr).not.toContain("bytes as JSON");
  });

  it("says it too when rollout generates the policies from the store", () => {
    ingestEgress(Array.from({ length: 8000 }, (_, i) => `11.${i >> 8}.${i & 255}.7`));
    const { repo } = makeRepo(dir);
    const r = runCli(["rollout", "--repo", repo, "--db", db, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: shop\/allow-frontend-to-external-egress\.yaml is [0-9,]+ bytes as JSON/);
  });
});

describe("flowpol generate: no write through links", () => {
  it("refuses a symlink under --out instead of writing where it points", () => {
    ingestEgress(["93.184.216.34"]);
    const out = join(dir, "out");
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(out);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(out, "shop"));
    const r = runCli(["generate", "--db", db, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(out, "shop")} is a symlink: flowpol does not write through links`);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it("refuses a symlinked file under --out instead of replacing it", () => {
    ingestEgress(["93.184.216.34"]);
    const out = join(dir, "out");
    expect(runCli(["generate", "--db", db, "--out", out]).code).toBe(0);
    const target = join(dir, "mine.yaml");
    writeFileSync(target, "mine\n");
    const file = join(out, "shop/allow-frontend-to-external-egress.yaml");
    rmSync(file);
    symlinkSync(target, file);
    const r = runCli(["generate", "--db", db, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is a symlink");
    expect(readFileSync(target, "utf8")).toBe("mine\n");
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
  });
});
