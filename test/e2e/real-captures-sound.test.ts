import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

function generateThenDiff(name: string, files: string[]): { generate: string; out: string } {
  const db = join(dir, `${name}.db`);
  // The Calico documentation examples carry records without a time: ingest takes them only with
  // --default-time (the time the export was taken), as a user must.
  const ingest = runCli(["ingest", "--db", db, "--default-time", "2025-01-01T00:00:00Z", ...files]);
  expect(ingest.code, ingest.stderr).toBe(0);
  const out = join(dir, `out-${name}`);
  const generate = runCli(["generate", "--db", db, "--out", out]);
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

  it.each(jsonl(SHARED_CALICO))("passes on the Calico capture %s", (file) => {
    generateThenDiff(`calico-${file.split("/").at(-1)}`, [file]);
  });

  it("leaves a direction un-isolated, and says so, where a workload without labels has connections", () => {
    const file = jsonl(SHARED_CALICO).find((f) => f.includes("docs-ee-flowlog-examples")) as string;
    const { generate, out } = generateThenDiff("calico-unlabelled", [file]);
    expect(generate).toMatch(/notice: egress of namespace client-pods-namespace left un-isolated: \d+ observed/);
    const evidence = readFileSync(join(out, "client-pods-namespace/EVIDENCE.md"), "utf8");
    expect(evidence).toContain("**Egress is not isolated in this namespace.**");
    expect(evidence).toMatch(/- `client-pods-namespace\/client-pods\[DaemonSet\] -> /);
  });
});
