import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildGraph, defaultScope, type GraphInput, parseCatalog } from "../src/graph/index.js";
import { defaultSynthOptions, generateTree, synthesize } from "../src/synth/index.js";
import type { BenchContext, BenchRow } from "./types.js";

/** The built-in shared-services catalog, from the repository (the bench runs from dist-bench/bench/). */
const CATALOG = fileURLToPath(new URL("../../templates/shared-services.yaml", import.meta.url));

/**
 * The synthetic cluster: 50 namespaces of 100 workloads (two pods each), 1,000 external hosts
 * with DNS names; 75% of the edges inside a namespace, 15% to 100 platform workloads (which the
 * graph detects as shared services), 10% to external hosts.
 *
 * Synthesis speed: graph + plan + YAML/EVIDENCE rendering for 5,000 workloads in 50 namespaces
 * with 50,000 edges (target <= 5 s), then the same workloads with 10x the edges (target <= 12x
 * the time of the first run, measured in the same process).
 */

export function syntheticInput(workloads: number, edges: number, namespaces = 50): GraphInput {
  const input: GraphInput = {
    scope: defaultScope(),
    endpoints: [],
    pods: [],
    namespaces: [],
    edges: [],
    dnsNames: [],
    services: [],
  };
  const perNs = Math.ceil(workloads / namespaces);
  for (let n = 0; n < namespaces; n++) {
    input.namespaces.push({ name: `ns-${n}`, labels: { "kubernetes.io/metadata.name": `ns-${n}` } });
  }
  for (let i = 0; i < workloads; i++) {
    const ns = `ns-${Math.floor(i / perNs)}`;
    input.endpoints.push({
      id: i + 1,
      type: "workload",
      namespace: ns,
      kind: "Deployment",
      name: `svc-${i}`,
      ip: "",
      first: 0,
      last: 1,
      flows: 10,
    });
    for (let p = 0; p < 2; p++) {
      input.pods.push({
        namespace: ns,
        name: `svc-${i}-abcde-${p}`,
        endpointId: i + 1,
        labels: { "app.kubernetes.io/name": `svc-${i}`, "app.kubernetes.io/part-of": ns, "pod-template-hash": `h${p}` },
        serviceAccount: `svc-${i}`,
        first: 0,
        last: 1,
      });
    }
  }
  const externals = 1000;
  for (let x = 0; x < externals; x++) {
    const ip = `203.0.${Math.floor(x / 250)}.${(x % 250) + 1}`;
    input.endpoints.push({
      id: workloads + 1 + x,
      type: "external",
      namespace: "",
      kind: "",
      name: "",
      ip,
      first: 0,
      last: 1,
      flows: 1,
    });
    input.dnsNames.push({ ip, name: `api-${x % 100}.example.com`, count: 1, first: 0, last: 1 });
  }
  let seed = 42;
  const rand = (m: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % m;
  };
  const seen = new Set<string>();
  while (input.edges.length < edges) {
    const src = rand(workloads) + 1;
    const srcNs = Math.floor((src - 1) / perNs);
    // 75% calls inside the namespace, 15% to one of 100 platform services, 10% to external hosts.
    const roll = rand(100);
    const dst =
      roll < 10
        ? workloads + 1 + rand(externals)
        : roll < 25
          ? rand(100) + 1
          : Math.min(workloads, srcNs * perNs + rand(perNs) + 1);
    const port = roll < 25 ? 8000 + rand(2) : 8000 + rand(40);
    const key = `${src}>${dst}>${port}`;
    if (src === dst || seen.has(key)) continue;
    seen.add(key);
    input.edges.push({
      srcId: src,
      dstId: dst,
      protocol: "TCP",
      port,
      verdict: "forwarded",
      system: "hubble",
      count: 1 + rand(50),
      first: 0,
      last: 1,
      dropReason: "",
    });
  }
  return input;
}

/** Wall time, and CPU time of this process (the machine is shared: CPU time is the steadier figure). */
function timeSynthesis(input: GraphInput): { ms: number; cpuMs: number; policies: number } {
  const catalog = parseCatalog(readFileSync(CATALOG, "utf8"), CATALOG);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const graph = buildGraph(input, { catalog, sharedMinNamespaces: 3 });
  const plan = synthesize(graph, defaultSynthOptions());
  const tree = generateTree(graph, plan, "kubernetes");
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - started;
  return { ms, cpuMs: (used.user + used.system) / 1000, policies: tree.manifests.length };
}

export async function synthBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const workloads = Math.max(50, Math.round(5000 * ctx.scale));
  const edges = Math.max(500, Math.round(50_000 * ctx.scale));
  const base = timeSynthesis(syntheticInput(workloads, edges));
  ctx.log(
    `${workloads} workloads, ${edges} edges: ${Math.round(base.ms)} ms wall, ${Math.round(base.cpuMs)} ms CPU, ${base.policies} policies`,
  );
  const big = timeSynthesis(syntheticInput(workloads, edges * 10));
  ctx.log(
    `${workloads} workloads, ${edges * 10} edges: ${Math.round(big.ms)} ms wall, ${Math.round(big.cpuMs)} ms CPU, ${big.policies} policies`,
  );
  const ratio = Math.round((big.ms / base.ms) * 100) / 100;
  const cpuRatio = Math.round((big.cpuMs / base.cpuMs) * 100) / 100;
  return [
    {
      name: `synthesis CPU ${workloads} workloads / ${edges} edges`,
      value: Math.round(base.cpuMs),
      unit: "ms",
      target: "<= 5000 ms",
      pass: base.cpuMs <= 5000,
    },
    {
      name: `synthesis CPU ${workloads} workloads / ${edges * 10} edges`,
      value: Math.round(big.cpuMs),
      unit: "ms",
      baseline: Math.round(base.cpuMs),
      ratio: cpuRatio,
      target: "<= 12x baseline",
      pass: cpuRatio <= 12,
    },
    {
      name: `synthesis ${workloads} workloads / ${edges} edges`,
      value: Math.round(base.ms),
      unit: "ms",
      target: "<= 5000 ms",
      pass: base.ms <= 5000,
    },
    {
      name: `synthesis ${workloads} workloads / ${edges * 10} edges`,
      value: Math.round(big.ms),
      unit: "ms",
      baseline: Math.round(base.ms),
      ratio,
      target: "<= 12x baseline",
      pass: ratio <= 12,
    },
  ];
}
