import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../helpers/in-process.js";
import { tempDir } from "../helpers/paths.js";

/**
 * `flowpol lint` on a manifest written to trigger each finding once, with the line it must name.
 * Line numbers are those of the manifest below (1-based).
 */
const MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        ports:
        - name: http
          containerPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: shop
  labels:
    app: db
status:
  podIP: 10.8.0.7
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          team: ops
    - podSelector:
        matchLabels:
          role: monitor
    ports:
    - port: metrics
  - {}
  egress:
  - to:
    - namespaceSelector: {}
    ports:
    - port: 443
  - to:
    - ipBlock:
        cidr: 10.0.0.0/8
    ports:
    - port: 5432
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ghost
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: nobody
  ingress:
  - from:
    - ipBlock:
        cidr: 192.0.2.0/24
`;

let tmp: ReturnType<typeof tempDir>;
let file: string;
let report: Array<{ id: string; severity: string; location: string; fix: string }>;

beforeAll(async () => {
  tmp = tempDir();
  file = join(tmp.dir, "shop.yaml");
  writeFileSync(file, MANIFEST);
  const r = await runInProcess(["lint", file, "-o", "json", "--fail-on", "never"]);
  expect(r.code, r.stderr).toBe(0);
  report = JSON.parse(r.stdout);
});
afterAll(() => tmp.cleanup());

describe("flowpol lint", () => {
  it.each([
    ["a namespaceSelector item and a podSelector item written as two peers", "NP001-split-peer", "shop.yaml:48"],
    ["egress isolation with no DNS allow", "NP002-egress-without-dns", "shop.yaml:42"],
    ["an ingress rule {} that allows everything", "NP003-allow-all", "shop.yaml:53"],
    ["namespaceSelector {} recreating flat trust", "NP004-flat-trust", "shop.yaml:56"],
    ["an ipBlock covering a known pod IP", "NP007-ipblock-covers-cluster", "shop.yaml:61"],
    ["a named port no container has", "NP008-named-port-unmatched", "shop.yaml:52"],
  ])("finds %s (%s) at %s", (_name, id, location) => {
    const hits = report.filter((f) => f.id === id);
    expect(hits.map((f) => f.location.replace(`${tmp.dir}/`, ""))).toEqual([location]);
    expect(hits[0]!.fix.length).toBeGreaterThan(10);
  });

  it("finds a podSelector and a peer selecting no known workload (NP006-selects-nothing)", () => {
    const hits = report.filter((f) => f.id === "NP006-selects-nothing");
    expect(hits.map((f) => f.location.replace(`${tmp.dir}/`, ""))).toEqual(["shop.yaml:72", "shop.yaml:49"]);
  });

  it("finds the namespace without a default deny, and nothing more", () => {
    expect(report.filter((f) => f.id === "NP005-no-default-deny").map((f) => f.location)).toEqual(["namespace shop"]);
    expect(report).toHaveLength(9);
  });

  it("flags an ipBlock that covers a cluster range given by flag", async () => {
    const r = await runInProcess([
      "lint",
      file,
      "-o",
      "json",
      "--fail-on",
      "never",
      "--cluster-cidr",
      "192.0.2.128/25",
    ]);
    const hits = (JSON.parse(r.stdout) as typeof report).filter((f) => f.id === "NP007-ipblock-covers-cluster");
    expect(hits.map((f) => f.location.replace(`${tmp.dir}/`, ""))).toEqual(["shop.yaml:77", "shop.yaml:61"]);
  });

  it.each([
    [
      "policies and no workloads",
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec:\n  podSelector: {}\n",
      "no workloads found",
    ],
    ["no policies", "apiVersion: v1\nkind: Namespace\nmetadata: {name: empty}\n", "no NetworkPolicies found"],
  ])("says on stderr what it could not review: %s", async (_name, text, note) => {
    const path = join(tmp.dir, `${note.replaceAll(" ", "-")}.yaml`);
    writeFileSync(path, text);
    const r = await runInProcess(["lint", path, "--fail-on", "never"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`note: ${note}`);
  });

  it("reports two policies with one name as a finding, and reviews the rest", async () => {
    const dir = join(tmp.dir, "dup");
    mkdirSync(dir);
    writeFileSync(join(dir, "a.yaml"), MANIFEST);
    writeFileSync(join(dir, "b.yaml"), MANIFEST.split("---\n").slice(3).join("---\n"));
    const r = await runInProcess(["lint", dir, "-o", "json", "--fail-on", "never"]);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as typeof report;
    expect(rows.filter((f) => f.id === "NP015-duplicate-name").map((f) => f.location.replace(`${dir}/`, ""))).toEqual([
      "b.yaml:36",
      "b.yaml:4",
    ]);
    expect(rows.filter((f) => f.id !== "NP015-duplicate-name")).toHaveLength(9);
  });

  it.each([
    ["warning (the default) fails on warnings", [], 3],
    ["error passes when there are only warnings", ["--fail-on", "error"], 0],
  ])("exit code: --fail-on %s", async (_name, flags, code) => {
    const r = await runInProcess(["lint", file, ...(flags as string[])]);
    expect(r.code).toBe(code);
    expect(r.stdout).toMatch(/2 policies: 0 errors, 9 warnings, 0 notes/);
  });
});
