import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";

/**
 * Tight beyond pairs of workloads, through ingest, generate and diff on a real store: selectors
 * keep the identity label; node addresses, NodeLocal DNS (169.254.20.10, reported as
 * `reserved:host`) and external peers stay distinct; DNS rules name only the resolvers seen on
 * port 53; the cilium flavor names only the host entities seen.
 */

type Peer = { ip: string; identity: number; labels: string[]; namespace?: string; pod_name?: string };

const pod = (ip: string, namespace: string, podName: string, labels: string[]): Peer => ({
  ip,
  identity: 1000 + Number(ip.split(".").at(-1)),
  namespace,
  pod_name: podName,
  labels: [...labels.map((l) => `k8s:${l}`), `k8s:io.kubernetes.pod.namespace=${namespace}`],
});
const host = (ip: string): Peer => ({ ip, identity: 1, labels: ["reserved:host"] });

const FRONTEND = pod("10.1.0.10", "shop", "frontend-5d9c7b8f6d-x2x9q", [
  "app=frontend",
  "pod-template-hash=5d9c7b8f6d",
]);
const COREDNS = pod("10.1.0.20", "kube-system", "coredns-6f6b679f8f-abcde", ["k8s-app=kube-dns"]);
const NODE_LOCAL_DNS_POD = pod("10.1.0.30", "kube-system", "node-local-dns-x7kqz", ["k8s-app=node-local-dns"]);
const PROMETHEUS = pod("10.1.0.40", "monitoring", "prometheus-0", ["app=prometheus"]);
const REVIEWS_V1 = pod("10.1.0.51", "bookinfo", "reviews-v1-7d4f9c8b6d-aaaaa", ["app=reviews", "version=v1"]);
const REVIEWS_V2 = pod("10.1.0.52", "bookinfo", "reviews-v2-7d4f9c8b6d-bbbbb", ["app=reviews", "version=v2"]);
const RATINGS_V1 = pod("10.1.0.53", "bookinfo", "ratings-v1-7d4f9c8b6d-ccccc", ["app=ratings", "version=v1"]);
const NODE = host("10.0.0.5");
const NODE_LOCAL_DNS = host("169.254.20.10");

let seconds = 0;
function line(src: Peer, dst: Peer, protocol: "TCP" | "UDP", port: number): string {
  const endpoint = ({ ip: _ip, ...rest }: Peer) => rest;
  seconds++;
  return JSON.stringify({
    flow: {
      time: new Date(Date.UTC(2026, 0, 5, 10, 0, seconds)).toISOString(),
      verdict: "FORWARDED",
      IP: { source: src.ip, destination: dst.ip, ipVersion: "IPv4" },
      l4: { [protocol]: { source_port: 40000 + seconds, destination_port: port } },
      source: endpoint(src),
      destination: endpoint(dst),
      traffic_direction: "EGRESS",
      is_reply: false,
      node_name: "node-a",
    },
  });
}

let dir: string;
let cleanup: () => void;
let db: string;

function generate(flavor: string): string {
  const out = join(dir, `out-${flavor}`);
  const r = runCli(["generate", "--db", db, "--out", out, "--flavor", flavor, "--exclude-namespace", "kube-system"]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

type Rule = { to?: unknown[]; from?: unknown[] };
type Manifest = { spec: { podSelector: { matchLabels?: Record<string, string> }; ingress: Rule[]; egress: Rule[] } };
const readYaml = (path: string) => parse(readFileSync(path, "utf8")) as Manifest;

beforeAll(() => {
  ({ dir, cleanup } = tempDir("flowpol-tight-"));
  const file = join(dir, "flows.jsonl");
  const lines = [
    line(FRONTEND, COREDNS, "UDP", 53),
    line(FRONTEND, NODE_LOCAL_DNS, "UDP", 53),
    line(NODE, FRONTEND, "TCP", 8080),
    line(PROMETHEUS, NODE_LOCAL_DNS_POD, "TCP", 9253),
    line(PROMETHEUS, FRONTEND, "TCP", 9464),
    line(REVIEWS_V1, RATINGS_V1, "TCP", 9080),
    line(REVIEWS_V2, RATINGS_V1, "TCP", 9080),
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
  db = join(dir, "flows.db");
  const r = runCli(["ingest", "--db", db, file]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => cleanup());

describe("generate keeps peers apart and tight", () => {
  it("allows every observed connection, as diff judges it", () => {
    const out = generate("kubernetes");
    const r = runCli(["diff", "--db", db, "--policies", out, "--fail-on", "denied"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it("names only the resolvers seen on port 53 in allow-dns, NodeLocal DNS by its own address", () => {
    const out = generate("kubernetes");
    const dns = readYaml(join(out, "shop/allow-dns.yaml"));
    const to = dns.spec.egress[0]?.to;
    expect(to).toContainEqual({ ipBlock: { cidr: "169.254.20.10/32" } });
    expect(to).toContainEqual({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    });
    // node-local-dns pods were only scraped on 9253; the node's address never served DNS.
    expect(JSON.stringify(to)).not.toContain("node-local-dns");
    expect(JSON.stringify(to)).not.toContain("10.0.0.5");
    expect(to).toHaveLength(2);
  });

  it("opens probes from the node's address only, not NodeLocal DNS's", () => {
    const out = generate("kubernetes");
    const probes = readYaml(join(out, "shop/allow-nodes-to-frontend.yaml"));
    expect(probes.spec.ingress[0]?.from).toEqual([{ ipBlock: { cidr: "10.0.0.5/32" } }]);
  });

  it("keeps the identity label in selectors: reviews-v2 is never selected by version alone", () => {
    const out = generate("kubernetes");
    const egress = readYaml(join(out, "bookinfo/allow-reviews-v2-to-ratings-v1-egress.yaml"));
    expect(egress.spec.podSelector.matchLabels).toEqual({ app: "reviews", version: "v2" });
    const ingress = readYaml(join(out, "bookinfo/allow-reviews-v2-to-ratings-v1.yaml"));
    expect(ingress.spec.podSelector.matchLabels).toEqual({ app: "ratings" });
    expect(ingress.spec.ingress[0]?.from).toEqual([
      { podSelector: { matchLabels: { app: "reviews", version: "v2" } } },
    ]);
  });

  it("names in the cilium flavor only the host entity that was seen", () => {
    const out = generate("cilium");
    const probes = readYaml(join(out, "shop/allow-nodes-to-frontend.yaml"));
    expect(probes.spec.ingress).toEqual([
      { fromEntities: ["host"], toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] },
    ]);
  });

  it("names NodeLocal DNS in the cilium flavor as the host entity on port 53 (Cilium's CIDR rules never match it), and diff allows it", () => {
    const out = generate("cilium");
    const dns = readYaml(join(out, "shop/allow-dns.yaml")) as unknown as {
      spec: { egress: Array<Record<string, unknown>> };
    };
    const host = dns.spec.egress.find((r) => r.toEntities !== undefined);
    expect(host?.toEntities).toEqual(["host"]);
    expect(JSON.stringify(host?.toPorts)).toContain('"port":"53"');
    expect(JSON.stringify(dns.spec.egress)).not.toContain("169.254.20.10");
    const r = runCli(["diff", "--db", db, "--policies", out, "--fail-on", "denied"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
