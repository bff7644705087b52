import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";

/**
 * Calico aggregates public and private addresses away (`pub`, `pvt`): the graph keeps such
 * connections apart (no ipBlock can allow them), but every text format shows them, so `graph`
 * and `stats` agree on what the store holds.
 */
const CALICO = join(REPO_ROOT, "samples/online-boutique/calico-flows.log.gz");

let tmp: { dir: string; cleanup: () => void };
let db: string;

beforeAll(() => {
  tmp = tempDir("flowpol-named-peers-");
  db = join(tmp.dir, "flowpol.db");
  const r = runCli(["ingest", "--db", db, CALICO]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => tmp.cleanup());

function graph(output: string): string {
  const r = runCli(["graph", "--db", db, "-o", output]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

interface Edge {
  from: string;
  to: string;
  protocol: string;
  port: number;
}

describe("flowpol graph with peers known by name only", () => {
  it("lists them in JSON apart from the allowed connections", () => {
    const json = JSON.parse(graph("json")) as { unaddressed?: Edge[] };
    const peers = new Set((json.unaddressed ?? []).map((e) => e.to));
    expect(peers).toContain("peer:Network/pub");
    expect(peers).toContain("peer:Network/pvt");
  });

  it("shows each of them in the table, DOT and Mermaid, named for what it is", () => {
    const json = JSON.parse(graph("json")) as { unaddressed: Edge[] };
    const table = graph("table");
    const dot = graph("dot");
    const mermaid = graph("mermaid");
    for (const e of json.unaddressed) {
      const port = `${e.protocol}/${e.port}`;
      const named = (id: string) => (id.startsWith("peer:") ? `${id} \\((public internet|private network)\\)` : id);
      expect(table).toMatch(new RegExp(`^${named(e.from)}\\s+${named(e.to)}\\s+${port}\\s`, "m"));
      expect(dot).toContain(`"${e.from}" -> "${e.to}" [label="${port}"];`);
    }
    expect(dot).toContain('"peer:Network/pub" [label="public internet", shape=ellipse];');
    expect(mermaid).toMatch(
      /subgraph g\d+\["named peers"\]\n\s+n\d+\["public internet"\]\n\s+n\d+\["private network"\]/,
    );
    const pub = /(n\d+)\["public internet"\]/.exec(mermaid)?.[1];
    expect(mermaid).toMatch(new RegExp(`-->\\|[A-Z]+/\\d+\\| ${pub}$`, "m"));
  });

  it("accounts every edge record of the store: what the table does not show is explained", () => {
    const stats = JSON.parse(runCli(["stats", "--db", db, "-o", "json"]).stdout) as { edges: number };
    const all = JSON.parse(runCli(["graph", "--db", db, "-o", "json", "--exclude-namespace", ""]).stdout) as Record<
      "allowed" | "denied" | "unaddressed",
      Edge[]
    >;
    const shown = all.allowed.length + all.denied.length + (all.unaddressed?.length ?? 0);
    const table = runCli(["graph", "--db", db, "--exclude-namespace", ""]).stdout;
    const rows = table.split("\n").filter((l) => /^\S+\s+\S+.*\s(TCP|UDP|SCTP|ICMP)/.test(l)).length;
    expect(rows).toBe(shown);
    const note = /^(\d+) edge records in the store/m.exec(table);
    if (note) expect(Number(note[1])).toBe(stats.edges);
    else expect(shown).toBe(stats.edges);
  });
});
