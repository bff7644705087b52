import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EXCLUDED_NAMESPACES } from "../../src/graph/input.js";
import { openStore } from "../../src/store/db.js";
import { runCli } from "../helpers/cli.js";
import { SHARED_CALICO, SHARED_HUBBLE, tempDir } from "../helpers/paths.js";
import { sharedMissing } from "../helpers/shared.js";

/**
 * The real captures in ../shared/data (Hubble and Calico): policies generated from a store, judged
 * by `flowpol diff --fail-on denied` on the same store, break no observed connection.
 */

const present = sharedMissing([SHARED_HUBBLE, SHARED_CALICO]) === undefined;
const jsonl = (dir: string) =>
  present
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".jsonl"))
        .sort()
        .map((f) => join(dir, f))
    : [];

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir("flowpol-real-"));
});
afterAll(() => cleanup());

function ingest(name: string, files: string[]): string {
  const db = join(dir, `${name}.db`);
  // The Calico documentation examples carry records without a time: ingest takes them only with
  // --default-time (the time the export was taken), as a user must.
  const r = runCli(["ingest", "--db", db, "--default-time", "2025-01-01T00:00:00Z", ...files]);
  expect(r.code, r.stderr).toBe(0);
  return db;
}

/** The namespaces of the store's workloads. */
function workloadNamespaces(db: string): string[] {
  const store = openStore(db, { mustExist: true, readonly: true });
  try {
    return store
      .prepare("SELECT DISTINCT namespace FROM endpoints WHERE type = 'workload' ORDER BY namespace")
      .pluck()
      .all() as string[];
  } finally {
    store.close();
  }
}

function generateThenDiff(
  name: string,
  files: string[],
  generateArgs: string[] = [],
  db = ingest(name, files),
): { generate: string; out: string } {
  const out = join(dir, `out-${name}`);
  const generate = runCli(["generate", "--db", db, "--out", out, ...generateArgs]);
  expect(generate.code, generate.stderr).toBe(0);
  const diff = runCli(["diff", "--db", db, "--policies", out, "--fail-on", "denied"]);
  expect(diff.code, `${diff.stdout}\n${diff.stderr}`).toBe(0);
  return { generate: generate.stderr, out };
}

describe.skipIf(!present)("real captures: generate, then diff --fail-on denied on the same store", () => {
  it("passes on every Hubble capture together", () => {
    const { out } = generateThenDiff("hubble", jsonl(SHARED_HUBBLE));
    // node-local-dns keeps its labels though a late record of its IP says reserved:world.
    const scrape = readFileSync(
      join(out, "istio-system/allow-prometheus-to-kube-system-node-local-dns-egress.yaml"),
      "utf8",
    );
    expect(scrape).toContain("k8s-app: node-local-dns");
    // It was never seen answering DNS, so no namespace's allow-dns names it.
    expect(readFileSync(join(out, "istio-system/allow-dns.yaml"), "utf8")).not.toContain("node-local-dns");
  });

  /**
   * Each capture alone, as a user with only that file would run it. Captures of platform
   * namespaces only (kube-system's DNS) are generated with `--namespace` naming them, as the
   * exclusion's hint says; a capture with no workload at all (host to health probes) leaves
   * generate nothing to write: it refuses with exit 2 and says so.
   */
  it.each(jsonl(SHARED_HUBBLE))("passes on the Hubble capture %s alone", (file) => {
    const name = `hubble-${file.split("/").at(-1)}`;
    const db = ingest(name, [file]);
    const namespaces = workloadNamespaces(db);
    if (namespaces.length === 0) {
      const r = runCli(["generate", "--db", db, "--out", join(dir, `out-${name}`)]);
      expect(r.stderr).toContain("no namespace in scope has observed workloads");
      expect(r.code).toBe(2);
      return;
    }
    const platformOnly = namespaces.every((n) => DEFAULT_EXCLUDED_NAMESPACES.includes(n));
    generateThenDiff(name, [file], platformOnly ? namespaces.flatMap((n) => ["--namespace", n]) : [], db);
  });

  it.each(jsonl(SHARED_CALICO))("passes on the Calico capture %s", (file) => {
    generateThenDiff(`calico-${file.split("/").at(-1)}`, [file]);
  });

  it.each(["cilium", "calico-staged"])(
    "passes in the %s flavor on every capture (diff reads flowpol's flavors)",
    (flavor) => {
      generateThenDiff(`hubble-${flavor}`, jsonl(SHARED_HUBBLE), ["--flavor", flavor]);
      for (const file of jsonl(SHARED_CALICO)) {
        generateThenDiff(`calico-${flavor}-${file.split("/").at(-1)}`, [file], ["--flavor", flavor]);
      }
    },
  );

  it("leaves a direction un-isolated, and says so, where a workload without labels has connections", () => {
    const file = jsonl(SHARED_CALICO).find((f) => f.includes("docs-ee-flowlog-examples")) as string;
    const { generate, out } = generateThenDiff("calico-unlabelled", [file]);
    expect(generate).toMatch(/notice: egress of namespace client-pods-namespace left un-isolated: \d+ observed/);
    const evidence = readFileSync(join(out, "client-pods-namespace/EVIDENCE.md"), "utf8");
    expect(evidence).toContain("**Egress is not isolated in this namespace.**");
    expect(evidence).toMatch(/- `client-pods-namespace\/client-pods\[DaemonSet\] -> /);
  });
});
