import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCENARIOS } from "../../src/samples/online-boutique.js";
import { buildCluster, simulateEvents } from "../../src/samples/simulate.js";
import { EMITTERS } from "../../src/samples/write-simulation.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { readTable } from "../helpers/store.js";

/**
 * The same simulated traffic rendered by every emitter (Hubble, Calico flow logs at every
 * aggregation level, Goldmane) and ingested separately must give the same dependency graph: the
 * same workload-to-workload allow edges (source, destination, protocol, port).
 */
const FORMATS = ["hubble", "calico", "calico-level0", "calico-level1", "calico-level2", "calico-level3", "goldmane"];
const EVENTS = 1500;

let dir: string;
let cleanup: () => void;
const stores = new Map<string, string>();

function allowEdges(db: string): string[] {
  const rows = readTable(
    db,
    `SELECT s.namespace || '/' || s.kind || '/' || s.name || ' -> ' || d.namespace || '/' || d.kind || '/' || d.name
            || ' ' || e.protocol || '/' || e.port AS edge
     FROM edges e JOIN endpoints s ON s.id = e.src_id JOIN endpoints d ON d.id = e.dst_id
     WHERE s.type = 'workload' AND d.type = 'workload' AND e.verdict = 'forwarded'
     ORDER BY edge`,
  ) as Array<{ edge: string }>;
  return rows.map((r) => r.edge);
}

function connections(db: string): number {
  const rows = readTable(db, "SELECT sum(count) AS n FROM edges") as Array<{ n: number }>;
  return rows[0]?.n ?? 0;
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir("flowpol-same-graph-"));
  const cluster = buildCluster(SCENARIOS["online-boutique"] as NonNullable<(typeof SCENARIOS)[string]>, 5);
  const emitters = FORMATS.map((f) => EMITTERS[f]?.create(cluster, 21));
  const lines: string[][] = FORMATS.map(() => []);
  for (const event of simulateEvents(cluster, EVENTS, 6)) {
    for (const [i, e] of emitters.entries()) lines[i]?.push(...(e?.lines(event) ?? []));
  }
  for (const [i, e] of emitters.entries()) lines[i]?.push(...(e?.flush?.() ?? []));
  for (const [i, format] of FORMATS.entries()) {
    const file = join(dir, `${format}.jsonl`);
    writeFileSync(file, `${(lines[i] ?? []).join("\n")}\n`);
    const db = join(dir, `${format}.db`);
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code, `${format}: ${r.stderr}`).toBe(0);
    stores.set(format, db);
  }
});
afterAll(() => cleanup());

describe("the same traffic through Hubble, Calico flow logs and Goldmane", () => {
  it("gives a realistic graph through Hubble", () => {
    const edges = allowEdges(stores.get("hubble") as string);
    expect(edges.length).toBeGreaterThan(30);
    expect(edges).toContain("online-boutique/Deployment/frontend -> online-boutique/Deployment/cartservice TCP/7070");
    expect(edges).toContain(
      "online-boutique/Deployment/cartservice -> online-boutique/StatefulSet/redis-cart TCP/6379",
    );
  });

  it.each(FORMATS.filter((f) => f !== "hubble"))(
    "gives the same workload-to-workload allow edges through %s",
    (format) => {
      expect(allowEdges(stores.get(format) as string)).toEqual(allowEdges(stores.get("hubble") as string));
    },
  );

  it.each(FORMATS.filter((f) => f !== "hubble"))(
    "counts each simulated connection once through %s, though both ends report pod-to-pod ones",
    (format) => {
      expect(connections(stores.get(format) as string)).toBe(EVENTS);
    },
  );
});
