import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { SHARED, tempDir } from "../helpers/paths.js";

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

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
  writeFileSync(join(tmp.dir, "ipblock.yaml"), IPBLOCK_TO_POD);
});
afterAll(() => tmp.cleanup());

describe("flowpol analyze (as a user runs it)", () => {
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
