import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RULES } from "../../src/policy/lint.js";
import { runInProcess } from "../helpers/in-process.js";
import { tempDir } from "../helpers/paths.js";

/**
 * `flowpol lint` over a corpus of policies written the way the recipes, the Kubernetes docs and
 * the articles on NetworkPolicy patterns write them. `base/` is a correct namespace (default deny,
 * DNS to kube-dns, one policy per flow, with or without its workloads): it must stay silent. Each
 * case folder adds (or, by file name, replaces) files of the base: one anti-pattern, or the
 * correct neighbour of one, which must not fire.
 */
const CORPUS = join(import.meta.dirname, "../fixtures/lint-corpus");
const BASE = join(CORPUS, "base");
const CASES = join(CORPUS, "cases");

interface Case {
  name: string;
  /** The ids lint must report, one per finding, in its order. */
  ids: string[];
  args?: string[];
  /** Run also without base/workloads.yaml (the policies alone), expecting the same ids. */
  alsoWithoutWorkloads?: boolean;
}

const TABLE: Case[] = [
  { name: "np001-fires", ids: ["NP001-split-peer"] },
  { name: "np001-silent", ids: [] },
  {
    name: "np002-fires-own-namespace-only",
    ids: ["NP002-egress-without-dns", "NP002-egress-without-dns"],
    alsoWithoutWorkloads: true,
  },
  {
    name: "np002-fires-unlabelled-kube-system",
    ids: ["NP002-egress-without-dns", "NP002-egress-without-dns"],
    alsoWithoutWorkloads: true,
  },
  { name: "np002-fires-dns-in-one-policy-only", ids: ["NP002-egress-without-dns"], alsoWithoutWorkloads: true },
  { name: "np002-silent-dns-in-own-policy", ids: [], alsoWithoutWorkloads: true },
  // kube-system's manifest labels it `name: kube-system`; that namespace has no default deny of its own.
  { name: "np002-silent-labelled-kube-system", ids: ["NP005-no-default-deny"], alsoWithoutWorkloads: true },
  { name: "np003-fires", ids: ["NP003-allow-all"] },
  { name: "np003-silent", ids: [] },
  { name: "np004-fires", ids: ["NP004-flat-trust"] },
  { name: "np004-silent", ids: [] },
  { name: "np005-fires", ids: ["NP005-no-default-deny"] },
  { name: "np005-silent-ingress-only", ids: [] },
  { name: "np006-fires-typos", ids: ["NP006-selects-nothing", "NP006-selects-nothing"] },
  { name: "np006-fires-namespace-label", ids: ["NP006-selects-nothing"] },
  { name: "np006-silent-unknown-namespace", ids: [] },
  { name: "np007-fires", ids: ["NP007-ipblock-covers-cluster"], args: ["--cluster-cidr", "10.244.0.0/16"] },
  { name: "np007-silent", ids: [], args: ["--cluster-cidr", "10.244.0.0/16"] },
  { name: "np008-fires", ids: ["NP008-named-port-unmatched"] },
  { name: "np008-silent", ids: [] },
  { name: "np009-fires", ids: ["NP009-named-port-to-ipblock"], alsoWithoutWorkloads: true },
  { name: "np009-silent", ids: [] },
  { name: "np010-fires", ids: ["NP010-dns-to-anywhere"], alsoWithoutWorkloads: true },
  { name: "np010-silent-node-local-dns", ids: [], alsoWithoutWorkloads: true },
  { name: "np011-fires", ids: ["NP011-egress-to-any-address"], alsoWithoutWorkloads: true },
  { name: "np011-fires-ipv6", ids: ["NP011-egress-to-any-address"], alsoWithoutWorkloads: true },
  { name: "np011-silent", ids: [], alsoWithoutWorkloads: true },
  { name: "np012-fires", ids: ["NP012-ipblock-covers-metadata"], alsoWithoutWorkloads: true },
  { name: "np012-fires-ipv6", ids: ["NP012-ipblock-covers-metadata"], alsoWithoutWorkloads: true },
  { name: "np012-silent", ids: [], alsoWithoutWorkloads: true },
  { name: "np013-fires", ids: ["NP013-rollout-label", "NP013-rollout-label"] },
  { name: "np013-silent", ids: [] },
  { name: "np014-fires", ids: ["NP014-every-namespace", "NP014-every-namespace"], alsoWithoutWorkloads: true },
  { name: "np014-silent", ids: [], alsoWithoutWorkloads: true },
  { name: "np015-fires", ids: ["NP015-duplicate-name"], alsoWithoutWorkloads: true },
  { name: "np015-silent", ids: [] },
  { name: "np016-fires", ids: ["NP016-invalid-name"], alsoWithoutWorkloads: true },
  { name: "np016-silent", ids: [] },
];

interface Row {
  id: string;
  severity: string;
  location: string;
  message: string;
  fix: string;
}

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** base + the case's files (a file of the same name replaces the base's) in a fresh folder. */
function assemble(caseName: string | undefined, withWorkloads: boolean): string {
  const dir = join(tmp.dir, `${caseName ?? "base"}-${withWorkloads ? "w" : "p"}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const copy = (from: string) => {
    for (const f of readdirSync(from)) copyFileSync(join(from, f), join(dir, f));
  };
  copy(BASE);
  if (caseName) copy(join(CASES, caseName));
  if (!withWorkloads) rmSync(join(dir, "workloads.yaml"));
  return dir;
}

async function lintRows(dir: string, args: string[] = []): Promise<{ rows: Row[]; stderr: string }> {
  const r = await runInProcess(["lint", dir, "-o", "json", "--fail-on", "never", ...args]);
  expect(r.code, r.stderr).toBe(0);
  return { rows: JSON.parse(r.stdout) as Row[], stderr: r.stderr };
}

describe("lint corpus", () => {
  it.each([
    ["with its workloads", true],
    ["without workloads", false],
  ])("the correct base namespace, %s, stays silent", async (_name, withWorkloads) => {
    const { rows } = await lintRows(assemble(undefined, withWorkloads));
    expect(rows).toEqual([]);
  });

  it("has a case that fires and a case that must not for every rule, and every case in the table", () => {
    const folders = readdirSync(CASES).sort();
    expect(TABLE.map((c) => c.name).sort()).toEqual(folders);
    for (const id of Object.keys(RULES)) {
      const prefix = id.slice(0, 5).toLowerCase();
      expect(
        folders.some((f) => f.startsWith(`${prefix}-fires`)),
        `${id} fires`,
      ).toBe(true);
      expect(
        folders.some((f) => f.startsWith(`${prefix}-silent`)),
        `${id} silent`,
      ).toBe(true);
    }
  });

  const runs = TABLE.flatMap((c) => [
    [`${c.name} (with workloads)`, c, true] as const,
    ...(c.alsoWithoutWorkloads ? [[`${c.name} (policies only)`, c, false] as const] : []),
  ]);
  it.each(runs)("%s reports exactly its finding, with a fix", async (_name, c, withWorkloads) => {
    const { rows } = await lintRows(assemble(c.name, withWorkloads), c.args);
    expect(rows.map((r) => r.id)).toEqual(c.ids);
    for (const r of rows) {
      expect(r.fix.length).toBeGreaterThan(20);
      expect(r.location).toMatch(/\.yaml:\d+$|^namespace /);
    }
  });
});
