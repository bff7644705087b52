import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCENARIOS } from "../../src/samples/online-boutique.js";
import { buildCluster, simulateEvents } from "../../src/samples/simulate.js";
import { EMITTERS } from "../../src/samples/write-simulation.js";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";
import { readTable } from "../helpers/store.js";

/**
 * The same simulated traffic rendered by every emitter (Hubble, Calico flow logs at every
 * aggregation level, Goldmane) and ingested separately must give the same dependency graph: the
 * same workload-to-workload allow edges (source, destination, protocol, port); and policies
 * generated from any of them, judged by `flowpol diff` on the Hubble store, allow the same
 * observed connections.
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

interface DiffEdge {
  status: string;
  source: string;
  destination: string;
  protocol: string;
  port: number;
  fromNode: boolean;
}

/** `flowpol diff --format json` of a store against a policy folder: its edges. */
function judge(db: string, policies: string): DiffEdge[] {
  const r = runCli(["diff", "--db", db, "--policies", policies, "-o", "json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { edges: DiffEdge[] }).edges;
}

const edgeName = (e: DiffEdge) => `${e.source} -> ${e.destination} ${e.protocol}/${e.port}`;
/** `ns/name[Kind]` (diff) to `ns/Kind/name` (generate), for workloads; undefined for other peers. */
const workloadId = (peer: string) => /^([^/]+)\/([^[]+)\[([A-Za-z]+)\]$/.exec(peer)?.slice(1);
const METADATA = "169.254.169.254";

/** Generates policies from `store` into `out`, returning generate's stderr (its "not allowed" list). */
function generate(store: string, out: string): string {
  const r = runCli(["generate", "--db", store, "--out", out]);
  expect(r.code, r.stderr).toBe(0);
  return r.stderr;
}

/**
 * Every observed edge of the Hubble store is allowed by the policies generated from `source`,
 * except the cloud metadata address (documented: --allow-metadata) and, where the source gave a
 * peer no address (Calico pub/pvt, Goldmane), edges with that IP peer, which generate lists.
 */
function expectSameDecisions(hubbleStore: string, hubbleOut: string, sourceOut: string, sourceStderr: string) {
  const reference = judge(hubbleStore, hubbleOut);
  const judged = judge(hubbleStore, sourceOut);
  expect(reference.filter((e) => e.status !== "allowed").map(edgeName)).toEqual(
    reference.filter((e) => e.destination === METADATA).map(edgeName),
  );
  const allowedByHubble = new Set(reference.filter((e) => e.status === "allowed").map(edgeName));
  for (const e of judged) {
    if (e.status === "allowed" || !allowedByHubble.has(edgeName(e))) continue;
    const src = workloadId(e.source);
    const dst = workloadId(e.destination);
    // Workload to workload, and the nodes' probes: always the same decision.
    expect(src && dst, `${edgeName(e)} is ${e.status}`).toBeFalsy();
    expect(e.fromNode, `${edgeName(e)} is ${e.status}`).toBe(false);
    const [ns, name, kind] = (src ?? dst) as string[];
    const pattern = src
      ? `not allowed: ${ns}/${kind}/${name} -> peer:`
      : `-> ${ns}/${kind}/${name} ${e.protocol}/${e.port}: the source named this peer without an address`;
    expect(sourceStderr, `${edgeName(e)} is ${e.status} but not listed`).toContain(pattern);
  }
  return { reference, judged };
}

describe("policies generated from every source, judged on the Hubble store", () => {
  const outs = new Map<string, { out: string; stderr: string }>();
  beforeAll(() => {
    for (const format of FORMATS) {
      const out = join(dir, `out-${format}`);
      outs.set(format, { out, stderr: generate(stores.get(format) as string, out) });
    }
  });

  it.each(["calico-level0", "calico-level1"])("allow exactly what Hubble's allow, through %s (IPs kept)", (format) => {
    const hubble = stores.get("hubble") as string;
    const { reference, judged } = expectSameDecisions(
      hubble,
      outs.get("hubble")?.out as string,
      outs.get(format)?.out as string,
      outs.get(format)?.stderr as string,
    );
    const allowed = (edges: DiffEdge[]) => edges.filter((e) => e.status === "allowed").map(edgeName);
    expect(allowed(judged)).toEqual(allowed(reference));
  });

  it.each(["calico", "calico-level2", "calico-level3", "goldmane"])(
    "allow the same, through %s, but for peers it gave no address, which generate lists",
    (format) => {
      const { judged } = expectSameDecisions(
        stores.get("hubble") as string,
        outs.get("hubble")?.out as string,
        outs.get(format)?.out as string,
        outs.get(format)?.stderr as string,
      );
      const workloadEdges = judged.filter((e) => workloadId(e.source) && workloadId(e.destination));
      expect(workloadEdges.length).toBeGreaterThan(30);
      expect(workloadEdges.filter((e) => e.status !== "allowed").map(edgeName)).toEqual([]);
    },
  );
});

describe("the bundled samples (samples/online-boutique), judged on the Hubble sample's store", () => {
  const SAMPLES = { hubble: "hubble.jsonl.gz", calico: "calico-flows.log.gz", goldmane: "goldmane.jsonl.gz" };
  const runs = new Map<string, { store: string; out: string; stderr: string }>();
  beforeAll(() => {
    for (const [name, file] of Object.entries(SAMPLES)) {
      const store = join(dir, `sample-${name}.db`);
      const r = runCli(["ingest", "--db", store, join(REPO_ROOT, "samples/online-boutique", file)]);
      expect(r.code, r.stderr).toBe(0);
      const out = join(dir, `sample-out-${name}`);
      runs.set(name, { store, out, stderr: generate(store, out) });
    }
  });

  it.each(["calico", "goldmane"])(
    "policies from the %s sample allow what Hubble's allow, but for listed peers",
    (name) => {
      const hubble = runs.get("hubble") as { store: string; out: string };
      const run = runs.get(name) as { out: string; stderr: string };
      const { reference, judged } = expectSameDecisions(hubble.store, hubble.out, run.out, run.stderr);
      expect(reference).toHaveLength(80);
      expect(reference.filter((e) => e.status === "allowed")).toHaveLength(79);
      const pods = judged.filter((e) => (workloadId(e.source) || e.fromNode) && workloadId(e.destination));
      expect(pods.length).toBeGreaterThan(50);
      expect(pods.filter((e) => e.status !== "allowed").map(edgeName)).toEqual([]);
    },
  );
});
