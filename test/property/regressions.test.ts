import { afterAll, describe, expect, it } from "vitest";
import { FLAVOR_RUNS, type RunName, runWorld, type WorldRun } from "./pipeline.js";
import { buildProbes } from "./probes.js";
import {
  addressesNotDenied,
  clonesDiffering,
  decisionsDifferingFromHubble,
  generateOverPermissive,
  overPermissive,
  unexplainedDenials,
  verdictsOnHubble,
} from "./properties.js";
import { waveFailures } from "./waves.js";
import { FORMATS, type World } from "./world.js";

/**
 * Shrunk counterexamples of the property tests (one-truth.test.ts), kept as fixed small worlds.
 */

const app = (namespace: string, name: string) => ({
  namespace,
  name,
  kind: "Deployment" as const,
  identityKey: "app" as const,
  tier: "front" as const,
  partOf: false,
  canary: false,
  replicas: 1,
});
const empty = { dns: [], nodeLocalDns: [], probes: [], agents: [], apiServer: [], externals: [], prometheus: [] };

/** Two Deployments of one namespace, one call (seed 1414, path 0:0:...). */
const ONE_CALL: World = {
  ...empty,
  apps: [app("shop", "web"), app("shop", "search")],
  calls: [{ from: 0, to: 1, port: 80, protocol: "TCP", dropped: false }],
};
/** Same-named apps in two namespaces, one call between them (seed 99, path 0:0:...). */
const CROSS_NAMESPACE: World = {
  ...empty,
  apps: [app("shop", "web"), app("tenant-a", "web")],
  calls: [{ from: 0, to: 1, port: 80, protocol: "TCP", dropped: false }],
};
/** The same, plus a call to the API server. */
const API_SERVER: World = { ...ONE_CALL, apiServer: [0] };
/**
 * The examples of selectors and peers that must stay apart: a canary (`version: v1`/`v2`
 * under one identity label) and a second app sharing `tier` and `part-of`; NodeLocal DNS seen as
 * `host`, kubelet probes and a hostNetwork agent (node addresses), an external name.
 */
const CANARY_AND_PEERS: World = {
  ...empty,
  apps: [
    { ...app("shop", "api"), canary: true, partOf: true },
    { ...app("shop", "web"), identityKey: "app.kubernetes.io/name", partOf: true },
  ],
  calls: [
    { from: 1, to: 0, port: 8080, protocol: "TCP", dropped: false },
    { from: 0, to: 1, port: 9090, protocol: "TCP", dropped: true },
  ],
  dns: [1],
  nodeLocalDns: [0],
  probes: [{ to: 0, port: 8080 }],
  agents: [1],
  externals: [{ from: 0, ip: 7, port: 443, named: true }],
};

const RUN_NAMES: readonly RunName[] = [...FORMATS, ...FLAVOR_RUNS];
const runs: WorldRun[] = [];
afterAll(() => {
  for (const r of runs) r.cleanup();
});
async function run(world: World) {
  const r = await runWorld(world);
  runs.push(r);
  return r;
}

describe("regressions", () => {
  it("one call between two Deployments: Hubble and Calico level 0 policies allow it", async () => {
    const r = await run(API_SERVER);
    expect(unexplainedDenials(r, "hubble")).toEqual([]);
    expect(unexplainedDenials(r, "calico-level0")).toEqual([]);
    expect(await verdictsOnHubble(r, "calico-level0")).toEqual(await verdictsOnHubble(r, "hubble"));
  });

  it("Goldmane / Calico EE-level labels become selectors: the call is allowed", async () => {
    const r = await run(ONE_CALL);
    expect(unexplainedDenials(r, "goldmane")).toEqual([]);
    expect(unexplainedDenials(r, "calico")).toEqual([]);
    expect(await verdictsOnHubble(r, "goldmane")).toEqual(await verdictsOnHubble(r, "hubble"));
    expect(await verdictsOnHubble(r, "calico")).toEqual(await verdictsOnHubble(r, "hubble"));
  });

  it("the API server seen by Calico without an address is listed with that reason; workload decisions match", async () => {
    const r = await run(API_SERVER);
    expect(unexplainedDenials(r, "calico")).toEqual([]);
    expect(r.runs.calico.generate.stderr).toMatch(
      /denied: shop\/web\[Deployment\] -> \S+ TCP\/6443 .*: a peer with no address/,
    );
    expect(await decisionsDifferingFromHubble(r, "calico")).toEqual([]);
  });

  it("a call across namespaces from Goldmane / Calico EE-level records is allowed", async () => {
    const r = await run(CROSS_NAMESPACE);
    expect(unexplainedDenials(r, "goldmane")).toEqual([]);
    expect(unexplainedDenials(r, "calico")).toEqual([]);
  });
});

describe("regressions: pods created later, unobserved addresses and every wave", () => {
  it.each(RUN_NAMES)(
    "a canary, shared labels, NodeLocal DNS, probes and an external name from %s",
    async (format) => {
      const r = await run(CANARY_AND_PEERS);
      const probes = await buildProbes(CANARY_AND_PEERS, r.dir);
      expect(probes.unobserved && probes.addresses && probes.clones).toBeTruthy();
      expect(unexplainedDenials(r, format)).toEqual([]);
      expect(await overPermissive(probes, r, format)).toEqual([]);
      expect(generateOverPermissive(r, format)).toEqual([]);
      expect(await addressesNotDenied(probes, r, format)).toEqual([]);
      expect(await clonesDiffering(probes, r, format)).toEqual([]);
      // Waves cost a repository each: the property test runs them for every source and flavor.
      if (format === "calico" || format === "hubble-cilium") expect(await waveFailures(r, format, probes)).toEqual([]);
    },
    300_000,
  );
});
