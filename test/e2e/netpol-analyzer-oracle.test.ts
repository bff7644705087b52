import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runInProcess } from "../helpers/in-process.js";
import { SHARED } from "../helpers/paths.js";
import { describeWithShared, sharedMissing } from "../helpers/shared.js";

/**
 * np-guard netpol-analyzer's own expected outputs, run through `flowpol analyze` (read from
 * ../shared at test time). Every connlist and diff golden (txt, json, csv, md) must match, those
 * with Ingress/Route objects included. Upstream compares goldens without line breaks; here only a
 * final newline may differ.
 */
const ORACLE = join(SHARED, "oracle/netpol-analyzer");

interface Row {
  kase: string;
  other: string;
  kind: string;
  expected: string;
  command: string;
}

const CASES = join(ORACLE, "cases.tsv");
const rows: Row[] = (sharedMissing([CASES]) ? "" : readFileSync(CASES, "utf8"))
  .trim()
  .split("\n")
  .slice(1)
  .map((line) => {
    const f = line.split("\t");
    return { kase: f[0]!, other: f[2]!, kind: f[3]!, expected: f[6]!, command: f[8]! };
  });

const ingressCache = new Map<string, boolean>();
function hasIngressObjects(kase: string): boolean {
  if (!kase) return false;
  let hit = ingressCache.get(kase);
  if (hit === undefined) {
    const walk = (dir: string): boolean =>
      readdirSync(dir).some((f) => {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) return walk(p);
        const text = readFileSync(p, "utf8");
        return /^kind:\s*(Ingress|Route)\s*$/m.test(text) || /"kind":\s*"(Ingress|Route)"/.test(text);
      });
    hit = walk(join(ORACLE, kase, "manifests"));
    ingressCache.set(kase, hit);
  }
  return hit;
}

/** The upstream command line, pointed at the oracle's manifests. */
function toArgs(command: string): string[] {
  return command
    .split(/\s+/)
    .slice(1)
    .filter((a) => a !== "" && !a.startsWith("--multiple-networks"))
    .map((a) => a.replace(/^tests\/([^/]+)(.*)$/, `${ORACLE}/$1/manifests$2`));
}

const goldens = rows.filter(
  (r) => (r.kind === "connlist" || r.kind === "diff" || r.kind === "cli-connlist") && !/-o dot\b/.test(r.command),
);
const isIngress = (r: Row) => hasIngressObjects(r.kase) || hasIngressObjects(r.other);
const netpolOnly = goldens.filter((r) => !isIngress(r));
const withIngress = goldens.filter(isIngress);

async function matches(r: Row): Promise<{ ok: boolean; actual: string; expected: string; stderr: string }> {
  const result = await runInProcess(["analyze", ...toArgs(r.command), "--quiet"]);
  const expected = readFileSync(join(ORACLE, r.expected), "utf8");
  return {
    ok: result.code === 0 && result.stdout.trimEnd() === expected.trimEnd(),
    actual: result.stdout,
    expected,
    stderr: result.stderr,
  };
}

describeWithShared([CASES], "netpol-analyzer oracle, NetworkPolicy-only cases", () => {
  it("has the cases the brief counts on", () => {
    expect(netpolOnly.filter((r) => r.kind === "connlist").length).toBe(30);
    expect(netpolOnly.filter((r) => r.kind === "diff").length).toBe(23);
  });

  it.each(netpolOnly.map((r) => [`${r.kind}: ${r.command.replace(/ --multiple-networks=\S+/, "")}`, r] as const))(
    "%s prints the analyzer's expected output",
    async (_name, r) => {
      const m = await matches(r);
      expect(m.stderr).toBe("");
      expect(m.actual.trimEnd()).toBe(m.expected.trimEnd());
    },
  );
});

describeWithShared([CASES], "netpol-analyzer oracle, cases with Ingress/Route objects ({ingress-controller})", () => {
  it("has the cases the brief counts on", () => {
    expect(withIngress.length).toBe(63);
  });

  it.each(withIngress.map((r) => [`${r.kind}: ${r.command.replace(/ --multiple-networks=\S+/, "")}`, r] as const))(
    "%s prints the analyzer's expected output",
    async (_name, r) => {
      const m = await matches(r);
      expect(m.stderr).toBe("");
      expect(m.actual.trimEnd()).toBe(m.expected.trimEnd());
    },
  );
});

/** What each fatal case must say: upstream's fragment, except where upstream's text has a typo. */
const OWN_WORDING: Record<string, string> = {
  "port range 10-1 is legal; start and end values of the port range should be in {1-65535} and end may not be less than start":
    "port range 10-1 is not legal; start and end values of the port range should be in {1-65535} and end may not be less than start",
  'NetworkPolicy "default/backend-netpol" is already exists. Only one object of a given kind can have a given name at a time.':
    "Only one object of a given kind can have a given name at a time",
};

describeWithShared([CASES], "netpol-analyzer oracle, invalid manifests", () => {
  const fatal = rows.filter((r) => r.kind === "fatal-error");
  it.each(fatal.map((r) => [r.command, r] as const))("%s fails naming the problem", async (_name, r) => {
    const fragment = r.expected
      .replace(/^"?\(error message contains\) /, "")
      .replace(/"$/, "")
      .replaceAll('""', '"');
    const result = await runInProcess(["analyze", ...toArgs(r.command), "--quiet"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(OWN_WORDING[fragment] ?? fragment);
  });
});
