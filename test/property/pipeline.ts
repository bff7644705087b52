import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { DEFAULT_EXCLUDED_NAMESPACES } from "../../src/graph/input.js";
import { runInProcess } from "../helpers/in-process.js";
import { tempDir } from "../helpers/paths.js";
import { clusterOf, eventsOf, FORMATS, type Format, render, scenarioOf, type World } from "./world.js";

/**
 * One world through flowpol as a user runs it: the flow records of every format ingested into a
 * real SQLite store each, policies generated from each store, then `flowpol diff` (the one verdict
 * path) judging them. Nothing here decides a verdict: the diff's JSON does.
 */
export interface DiffEdge {
  status: "allowed" | "denied" | "unprotected";
  source: string;
  destination: string;
  protocol: string;
  port: number;
  egress: { isolated: boolean; rules: Array<{ policy: string; namespace: string }> };
  ingress: { isolated: boolean; rules: Array<{ policy: string; namespace: string }> };
}

export interface FormatRun {
  store: string;
  out: string;
  generate: { code: number; stdout: string; stderr: string };
  /** `diff --fail-on denied` of this format's store against this format's policies. */
  diff: { code: number; edges: DiffEdge[]; stderr: string };
}

export interface WorldRun {
  dir: string;
  /** Per source; and the Hubble source's policies in the other flavors (`hubble-cilium`...). */
  runs: Record<RunName, FormatRun>;
  cleanup: () => void;
}

async function cli(args: string[]) {
  return runInProcess(args);
}

export async function diffJson(db: string, policies: string, failOnDenied = true) {
  const r = await cli([
    "diff",
    "--db",
    db,
    "--policies",
    policies,
    "-o",
    "json",
    ...(failOnDenied ? ["--fail-on", "denied"] : []),
  ]);
  const edges = r.stdout ? ((JSON.parse(r.stdout) as { edges: DiffEdge[] }).edges ?? []) : [];
  return { code: r.code, edges, stderr: r.stderr };
}

/** flowpol's other flavors, generated from the Hubble store: each is judged as the kubernetes one. */
export const FLAVOR_RUNS = ["hubble-cilium", "hubble-calico-staged"] as const;
export type RunName = Format | (typeof FLAVOR_RUNS)[number];

export async function runWorld(world: World, formats: readonly Format[] = FORMATS): Promise<WorldRun> {
  const tmp = tempDir("flowpol-pbt-");
  const cluster = clusterOf(scenarioOf(world));
  const events = eventsOf(cluster);
  const runs = {} as Record<RunName, FormatRun>;
  for (const format of formats) {
    const input = join(tmp.dir, `${format}.${format.startsWith("calico") ? "log" : "jsonl"}`);
    writeFileSync(input, render(cluster, events, format));
    const store = join(tmp.dir, `${format}.db`);
    const ingest = await cli([
      "ingest",
      "--db",
      store,
      "--format",
      format.startsWith("calico") ? "calico" : format,
      input,
    ]);
    if (ingest.code !== 0) throw new Error(`ingest ${format} failed: ${ingest.stderr}`);
    const out = join(tmp.dir, `policies-${format}`);
    const generate = await cli(["generate", "--db", store, "--out", out]);
    runs[format] = { store, out, generate, diff: await diffJson(store, out) };
  }
  if (runs.hubble) {
    for (const name of FLAVOR_RUNS) {
      const flavor = name.slice("hubble-".length);
      const { store } = runs.hubble;
      const out = join(tmp.dir, `policies-${name}`);
      const generate = await cli(["generate", "--db", store, "--out", out, "--flavor", flavor]);
      runs[name] = { store, out, generate, diff: await diffJson(store, out) };
    }
  }
  return { dir: tmp.dir, runs, cleanup: tmp.cleanup };
}

/** Each generated policy's purpose label (`flow`, `dns`, `shared`, `default-deny`), by `ns/name`. */
export function purposes(out: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of readdirSync(out, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".yaml") || entry.name === "kustomization.yaml") continue;
    for (const doc of parseAllDocuments(readFileSync(join(entry.parentPath, entry.name), "utf8"))) {
      const v = doc.toJS() as { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };
      const m = v?.metadata;
      if (m?.name && m.namespace) map.set(`${m.namespace}/${m.name}`, m.labels?.["flowpol.io/purpose"] ?? "");
    }
  }
  return map;
}

/** Namespaces flowpol generates no policies for by default (their pods are not isolated). */
export function outOfScope(id: string): boolean {
  return DEFAULT_EXCLUDED_NAMESPACES.includes(id.split("/")[0] ?? "");
}

/** The edge as one line, for messages and for comparing verdicts. */
export function edgeLine(e: DiffEdge): string {
  return `${e.status} ${e.source} -> ${e.destination} ${e.protocol}/${e.port}`;
}
