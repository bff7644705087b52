import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { SHARED, tempDir } from "../helpers/paths.js";
import { describeWithShared } from "../helpers/shared.js";

const MINIMAL = join(SHARED, "oracle/netpol-analyzer/netpol-analysis-example-minimal/manifests");

/** Two pods; b's egress allows only an ipBlock that holds a's IP. */
const IPBLOCK_TO_POD = `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
status: {podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-egress, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.1/32}
    ports:
    - port: 80
`;

/** Two replicas of a runner whose owner reference names no kind, and a policy named with `_`. */
const KINDLESS_OWNER_AND_BAD_NAME = `apiVersion: v1
kind: Pod
metadata:
  name: runner-1
  namespace: ci
  labels: {app: runner}
  ownerReferences: [{name: runner, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: runner-2
  namespace: ci
  labels: {app: runner}
  ownerReferences: [{name: runner, controller: true}]
---
apiVersion: v1
kind: Pod
metadata: {name: cache, namespace: ci, labels: {app: cache}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cache_ingress, namespace: ci}
spec:
  podSelector: {matchLabels: {app: cache}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: runner}}
    ports:
    - port: 6379
`;

const POLICY_ONLY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: ci}
spec:
  podSelector: {}
`;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
  writeFileSync(join(tmp.dir, "ipblock.yaml"), IPBLOCK_TO_POD);
  writeFileSync(join(tmp.dir, "kindless.yaml"), KINDLESS_OWNER_AND_BAD_NAME);
  writeFileSync(join(tmp.dir, "policy-only.yaml"), POLICY_ONLY);
});
afterAll(() => tmp.cleanup());

describeWithShared([MINIMAL], "flowpol analyze (as a user runs it)", () => {
  it("reads manifests from stdin with --dirpath -", () => {
    const text = readdirSync(MINIMAL)
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => readFileSync(join(MINIMAL, f), "utf8"))
      .join("\n---\n");
    const fromStdin = runCli(["analyze", "list", "--dirpath", "-", "-q"], { input: text });
    const fromDir = runCli(["analyze", "list", "--dirpath", MINIMAL, "-q"]);
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toBe(fromDir.stdout);
    expect(fromStdin.stdout).toContain("default/frontend[Deployment] => default/backend[Deployment] : TCP 9090");
  });

  it.each([
    ["the analyzer's convention: an ipBlock never matches a pod", [], "x/b[Pod] => x/a[Pod]", false],
    ["--k8s-semantics: an ipBlock matches the pod's IP", ["--k8s-semantics"], "x/b[Pod] => x/a[Pod] : TCP 80", true],
  ])("%s", (_name, flags, line, present) => {
    const r = runCli(["analyze", "list", "--dirpath", join(tmp.dir, "ipblock.yaml"), ...(flags as string[])]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.includes(line)).toBe(present);
  });

  it("groups pods whose owner has no kind under the owner, printed as netpol-analyzer does ([Pod])", () => {
    const r = runCli(["analyze", "list", "--dirpath", join(tmp.dir, "kindless.yaml"), "-q"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("ci/runner[Pod] => ci/cache[Pod] : TCP 6379");
    expect(r.stdout).not.toContain("runner-1");
  });

  it("analyses a policy whose name is not a DNS subdomain, with a warning (-q silences it)", () => {
    const r = runCli(["analyze", "list", "--dirpath", join(tmp.dir, "kindless.yaml")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'NetworkPolicy "cache_ingress": metadata.name: "cache_ingress" is not a valid DNS subdomain',
    );
    expect(r.stdout).not.toContain("=> ci/cache[Pod] : All Connections");
    expect(runCli(["analyze", "list", "--dirpath", join(tmp.dir, "kindless.yaml"), "-q"]).stderr).toBe("");
  });

  it("says that no workloads were found, rather than printing nothing", () => {
    const r = runCli(["analyze", "list", "--dirpath", join(tmp.dir, "policy-only.yaml")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("no relevant Kubernetes workload resources found");
  });

  it("warns when a Route leads to a workload whose policies block the ingress controller", () => {
    const dir = join(SHARED, "oracle/netpol-analyzer/acs-security-demos-new/manifests");
    const r = runCli(["analyze", "list", "--dirpath", dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: Route frontend/asset-cache routes to frontend/asset-cache[Deployment]");
    expect(r.stdout).not.toContain("{ingress-controller} => frontend/asset-cache[Deployment]");
    expect(r.stdout).toContain("{ingress-controller} => frontend/webapp[Deployment] : TCP 8080");
  });

  it("keeps a duplicate policy name fatal, as netpol-analyzer does", () => {
    const dir = join(tmp.dir, "dup");
    mkdirSync(dir);
    writeFileSync(join(dir, "a.yaml"), POLICY_ONLY);
    writeFileSync(join(dir, "b.yaml"), POLICY_ONLY);
    const r = runCli(["analyze", "list", "--dirpath", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Only one object of a given kind can have a given name at a time");
  });

  it.each([
    [
      "an unknown output format",
      ["list", "--dirpath", MINIMAL, "-o", "xml"],
      2,
      "-o xml is not a format of this command",
    ],
    [
      "json for a diff (the analyzer has none)",
      ["diff", "--dir1", MINIMAL, "--dir2", MINIMAL, "-o", "json"],
      2,
      "-o json is not a format",
    ],
    [
      "--focus-direction without a workload",
      ["list", "--dirpath", MINIMAL, "--focus-direction", "ingress"],
      2,
      "--focus-direction needs --focusworkload",
    ],
    [
      "a missing folder",
      ["diff", "--dir1", MINIMAL, "--dir2", "/nonexistent"],
      1,
      "no such file or folder: /nonexistent",
    ],
  ])("rejects %s", (_name, args, code, message) => {
    const r = runCli(["analyze", ...(args as string[])]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
  });
});
