import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { runCli } from "../helpers/cli.js";
import { expectGolden } from "../helpers/golden.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";
import { writeStore } from "../helpers/shop-store.js";

/**
 * `flowpol diff` on the hand-built shop store (real SQLite, written by the real store code) against
 * a small set of declared policies: default deny in `shop`, frontend egress, cart ingress, and a
 * redis rule that nothing uses.
 */
const POLICIES = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: frontend
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: frontend
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector:
        matchLabels:
          app: cart
    ports:
    - port: 7070
  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - port: 53
      protocol: UDP
  - to:
    - ipBlock:
        cidr: 93.184.216.0/24
    ports:
    - port: 443
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: cart
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: cart
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: frontend
    ports:
    - port: 7070
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: monitoring
    ports:
    - port: 9090
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: redis
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: redis
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: nothing-has-this
    ports:
    - port: 6379
`;

let tmp: ReturnType<typeof tempDir>;
let db: string;
let policies: string;
let jsonReport: { edges: JsonEdge[] };

beforeAll(() => {
  tmp = tempDir();
  db = writeStore(tmp.dir);
  policies = join(tmp.dir, "policies");
  writeFileSync(join(tmp.dir, "policies.yaml"), POLICIES);
  policies = join(tmp.dir, "policies.yaml");
  const r = runCli(["diff", "--db", db, "--policies", policies, "-o", "json"]);
  expect(r.code, r.stderr).toBe(0);
  jsonReport = JSON.parse(r.stdout);
});
afterAll(() => tmp.cleanup());

interface JsonEdge {
  status: string;
  source: string;
  destination: string;
  protocol: string;
  port: number;
  egress: { rules: Array<{ policy: string; index: number }> };
  ingress: { rules: Array<{ policy: string; index: number }> };
  deniedBy: string[];
}

describe("flowpol diff", () => {
  it.each([
    [
      "frontend to cart on 7070 is allowed by both sides",
      "shop/frontend[Deployment]",
      "shop/cart[Deployment]",
      7070,
      "allowed",
      "frontend/0 cart/0",
    ],
    [
      "frontend to cart on 7071 is denied by both sides",
      "shop/frontend[Deployment]",
      "shop/cart[Deployment]",
      7071,
      "denied",
      "egress,ingress",
    ],
    [
      "cart to redis is denied: no egress rule, and the redis rule matches nobody",
      "shop/cart[Deployment]",
      "shop/redis[StatefulSet]",
      6379,
      "denied",
      "egress,ingress",
    ],
    [
      "frontend DNS to CoreDNS is allowed by the egress rule",
      "shop/frontend[Deployment]",
      "kube-system/coredns[Deployment]",
      53,
      "allowed",
      "frontend/1",
    ],
    [
      "Prometheus to cart is allowed by the namespaceSelector rule",
      "monitoring/prometheus[StatefulSet]",
      "shop/cart[Deployment]",
      9090,
      "allowed",
      "cart/1",
    ],
    [
      "Prometheus to CoreDNS is unprotected",
      "monitoring/prometheus[StatefulSet]",
      "kube-system/coredns[Deployment]",
      9153,
      "unprotected",
      "",
    ],
    [
      "the node's probes reach frontend whatever the policies",
      "host(10.1.0.5)",
      "shop/frontend[Deployment]",
      8080,
      "allowed",
      "",
    ],
    [
      "frontend to an external address inside the ipBlock is allowed",
      "shop/frontend[Deployment]",
      "93.184.216.34",
      443,
      "allowed",
      "frontend/2",
    ],
    [
      "frontend to the cloud metadata address is denied",
      "shop/frontend[Deployment]",
      "169.254.169.254",
      80,
      "denied",
      "egress",
    ],
    [
      "ICMP from an isolated pod is denied (policies cannot allow it)",
      "shop/frontend[Deployment]",
      "shop/cart[Deployment]",
      0,
      "denied",
      "egress,ingress",
    ],
  ])("judges: %s", (_name, source, destination, port, status, detail) => {
    const edges = jsonReport.edges;
    const edge = edges.find((e) => e.source === source && e.destination === destination && e.port === port);
    expect(edge, `${source} -> ${destination}:${port} in the report`).toBeDefined();
    expect(edge!.status).toBe(status);
    const rules = [...edge!.egress.rules, ...edge!.ingress.rules].map((x) => `${x.policy}/${x.index}`).join(" ");
    expect(status === "denied" ? edge!.deniedBy.join(",") : rules).toBe(detail);
  });

  it("prints the table report exactly as the golden file", () => {
    const r = runCli(["diff", "--db", db, "--policies", "policies.yaml"], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expectGolden(r.stdout, join(REPO_ROOT, "test/golden/diff/shop-table.txt"));
  });

  it("fails the CI gate with exit 3 on denied flows, after printing the report", () => {
    const r = runCli(["diff", "--db", db, "--policies", policies, "--fail-on", "denied", "-o", "markdown"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("## Observed traffic against declared NetworkPolicies");
    expect(r.stderr).toMatch(/error: \d+ observed edges \(\d+ flows\) would be denied/);
  });

  it("fails the CI gate with exit 3 on an unused rule, naming the rule in the report", () => {
    const r = runCli(["diff", "--db", db, "--policies", policies, "--fail-on", "unused"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("1 declared rules are used by no observed flow");
    expect(r.stdout).toMatch(/shop\/redis ingress\[0\]\s+\S+policies\.yaml:\d+\s+0\s+0\s+UNUSED/);
  });

  it.each([
    ["flowpol's own named exception", "app.kubernetes.io/managed-by: flowpol\n    flowpol.io/purpose: dns", 0],
    ["the purpose label without flowpol as its manager", "flowpol.io/purpose: dns", 3],
    [
      "a flowpol policy for a flow (not an exception)",
      "app.kubernetes.io/managed-by: flowpol\n    flowpol.io/purpose: flow",
      3,
    ],
  ])("--fail-on unused with an unused rule in %s", (_name, labels, code) => {
    const labelled = POLICIES.replace(
      "  name: redis\n  namespace: shop\n",
      `  name: redis\n  namespace: shop\n  labels:\n    ${labels}\n`,
    );
    expect(labelled).not.toBe(POLICIES);
    const file = join(tmp.dir, "labelled.yaml");
    writeFileSync(file, labelled);
    const r = runCli(["diff", "--db", db, "--policies", file, "--fail-on", "unused"]);
    expect(r.code, r.stderr).toBe(code);
    if (code === 0) {
      expect(r.stdout).toMatch(/shop\/redis ingress\[0\]\s+\S+labelled\.yaml:\d+\s+0\s+0\s+exception \(dns\), unused/);
      expect(r.stdout).toContain("0 unused (and 1 unused flowpol exception rules, kept on purpose)");
    } else {
      expect(r.stdout).toMatch(/shop\/redis ingress\[0\]\s+\S+labelled\.yaml:\d+\s+0\s+0\s+UNUSED/);
    }
    const json = JSON.parse(runCli(["diff", "--db", db, "--policies", file, "-o", "json"]).stdout) as {
      rules: Array<{ policy: string; exception: string | null }>;
    };
    expect(json.rules.find((x) => x.policy === "redis")?.exception).toBe(code === 0 ? "dns" : null);
  });

  it("reads `kubectl get networkpolicies -A -o yaml` (a List) from stdin with the same result", () => {
    const items = parseAllDocuments(POLICIES).map((d) => d.toJS());
    const list = stringify({ apiVersion: "v1", kind: "List", items });
    const fromStdin = runCli(["diff", "--db", db, "--policies", "-", "-o", "json"], { input: list });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toContain('"file": "<stdin>:');
    // The same verdicts and rules; only the file the rules came from differs (<stdin>).
    const strip = (s: string) =>
      (JSON.parse(s).edges as JsonEdge[]).map((e) => ({
        ...e,
        egress: e.egress.rules.map((x) => `${x.policy}/${x.index}`),
        ingress: e.ingress.rules.map((x) => `${x.policy}/${x.index}`),
      }));
    expect(strip(fromStdin.stdout)).toEqual(strip(JSON.stringify(jsonReport)));
  });

  it.each([
    [
      "an invalid policy names the file, document and line",
      ["--policies", "BAD"],
      1,
      /bad\.yaml \(document 1, line 20\): NetworkPolicy "broken": spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: CIDR error/,
    ],
    [
      "an unknown format is a usage error",
      ["--policies", "GOOD", "-o", "xml"],
      2,
      /-o "xml" is not an output format of this command/,
    ],
    [
      "an unknown check is a usage error",
      ["--policies", "GOOD", "--fail-on", "slow"],
      2,
      /--fail-on slow is not a check/,
    ],
    [
      "a missing policy path is an input error",
      ["--policies", "/nonexistent/p.yaml"],
      1,
      /no such file or folder: \/nonexistent\/p\.yaml/,
    ],
  ])("%s", (_name, args, code, message) => {
    const bad = join(tmp.dir, "bad.yaml");
    writeFileSync(
      bad,
      `${POLICIES.split("---")[0]}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: broken\n  namespace: shop\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/40\n`,
    );
    const resolved = (args as string[]).map((a) => (a === "BAD" ? bad : a === "GOOD" ? policies : a));
    const r = runCli(["diff", "--db", db, ...resolved]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });
});

describe("flowpol diff --fail-on unused on flowpol's own output", () => {
  it("keeps the generated DNS exceptions that nothing used out of the gate", () => {
    const tmp = tempDir("flowpol-diff-own-");
    try {
      const db = join(tmp.dir, "flowpol.db");
      const out = join(tmp.dir, "policies");
      expect(runCli(["ingest", "--db", db, join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz")]).code).toBe(0);
      const generated = runCli(["generate", "--db", db, "--out", out]);
      expect(generated.code, generated.stderr).toBe(0);
      const r = runCli(["diff", "--db", db, "--policies", out, "--fail-on", "unused"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/allow-dns egress\[0\].*exception \(dns\), unused/);
      expect(r.stdout).not.toMatch(/\bUNUSED\b/);
    } finally {
      tmp.cleanup();
    }
  });
});
