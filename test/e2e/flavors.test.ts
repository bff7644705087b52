import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, SHARED_HUBBLE, tempDir } from "../helpers/paths.js";
import { sharedMissing } from "../helpers/shared.js";

/**
 * flowpol's three flavors are first-class inputs: generated from one store, each is read by lint,
 * diff and analyze, and `diff` gives every observed edge the same verdict whatever the flavor.
 * What the engine cannot model is refused with a count and a non-zero exit.
 */
const FLAVORS = ["kubernetes", "cilium", "calico-staged"] as const;

let tmp: ReturnType<typeof tempDir>;
const stores: Record<string, string> = {};

beforeAll(() => {
  tmp = tempDir();
  stores.boutique = join(tmp.dir, "boutique.db");
  expect(
    runCli(["ingest", "--db", stores.boutique, join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz")]).code,
  ).toBe(0);
  if (sharedMissing([SHARED_HUBBLE]) === undefined) {
    stores.captures = join(tmp.dir, "captures.db");
    const files = readdirSync(SHARED_HUBBLE)
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => join(SHARED_HUBBLE, f));
    runCli(["ingest", "--db", stores.captures, ...files]);
  }
});
afterAll(() => tmp.cleanup());

interface DiffJson {
  totals: Record<string, { edges: number; flows: number }>;
  edges: Array<{ status: string; source: string; destination: string; protocol: string; port: number }>;
}

function verdicts(db: string, policies: string): { totals: DiffJson["totals"]; edges: string[] } {
  const r = runCli(["diff", "--db", db, "--policies", policies, "-o", "json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const d = JSON.parse(r.stdout) as DiffJson;
  return {
    totals: d.totals,
    edges: d.edges.map((e) => `${e.status} ${e.source} -> ${e.destination} ${e.protocol}/${e.port}`),
  };
}

describe.each(["boutique", "captures"])("every flavor generated from the %s store", (store) => {
  it("gets the same diff verdict and report coverage for every observed edge; lint and analyze read it", (ctx) => {
    const db = stores[store];
    if (!db) ctx.skip(`${SHARED_HUBBLE} is absent`);
    const byFlavor = new Map<string, ReturnType<typeof verdicts>>();
    const reports = new Map<string, string>();
    for (const flavor of FLAVORS) {
      const out = join(tmp.dir, `${store}-${flavor}`);
      const g = runCli(["generate", "--db", db!, "--flavor", flavor, "--out", out]);
      expect(g.stderr).not.toMatch(/error/);
      byFlavor.set(flavor, verdicts(db!, out));
      const lint = runCli(["lint", out, "--fail-on", "never"]);
      expect(lint.code).toBe(0);
      expect(lint.stdout).toMatch(/^[1-9]\d* policies: /m);
      expect(lint.stderr).not.toMatch(/no policy/);
      const report = runCli(["report", "--db", db!, "--policies", out]);
      expect(report.code).toBe(0);
      expect(report.stdout).toMatch(/Judged \d+ observed connection/);
      reports.set(flavor, report.stdout);
      const analyze = runCli(["analyze", "list", "--dirpath", out, "--k8s-semantics"]);
      // The generated folder holds policies only: analyze says so, as netpol-analyzer does.
      expect(analyze.stderr).toMatch(/^warning: .*no relevant Kubernetes workload resources found/);
      expect(analyze.code).toBe(0);
    }
    const plain = byFlavor.get("kubernetes")!;
    expect(plain.totals.allowed?.edges).toBeGreaterThan(0);
    expect(byFlavor.get("cilium")).toEqual(plain);
    expect(byFlavor.get("calico-staged")).toEqual(plain);
    expect(reports.get("cilium")).toBe(reports.get("kubernetes"));
    expect(reports.get("calico-staged")).toBe(reports.get("kubernetes"));
  });
});

describe("policies the engine cannot model", () => {
  it("are refused with a count, and nothing is judged", () => {
    const file = join(tmp.dir, "unsupported.yaml");
    writeFileSync(
      file,
      `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: online-boutique}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  ingress:
  - toPorts: [{ports: [{port: "8080", protocol: TCP}], rules: {http: [{method: GET}]}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: everything}
spec: {selector: all()}
`,
    );
    for (const args of [
      ["diff", "--db", stores.boutique!, "--policies", file, "--fail-on", "denied"],
      ["lint", file],
      ["analyze", "list", "--dirpath", file],
    ]) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/2 policies use 2 constructs flowpol cannot evaluate; nothing was judged/);
      expect(r.stderr).toMatch(
        /unsupported\.yaml \(document 0, line 7\): CiliumNetworkPolicy "web": .*rules\.http: L7 http rules/,
      );
      expect(r.stderr).toMatch(/GlobalNetworkPolicy "everything": kind: GlobalNetworkPolicy is not read/);
    }
  });

  it("manifests with no policy are no silent pass: diff and lint say so", () => {
    writeFileSync(join(tmp.dir, "only-a-service.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n");
    const r = runCli(["diff", "--db", stores.boutique!, "--policies", join(tmp.dir, "only-a-service.yaml")]);
    expect(r.stderr).toMatch(/no policy in .*every observed edge is unprotected/);
    expect(runCli(["lint", join(tmp.dir, "only-a-service.yaml")]).stderr).toMatch(/warning: no policy in /);
  });
});
