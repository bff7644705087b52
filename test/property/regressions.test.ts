import { afterAll, describe, expect, it } from "vitest";
import { runWorld, type WorldRun } from "./pipeline.js";
import { decisionsDifferingFromHubble, unexplainedDenials, verdictsOnHubble } from "./properties.js";
import type { World } from "./world.js";

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
