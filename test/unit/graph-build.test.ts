import { describe, expect, it } from "vitest";
import { buildGraph, defaultScope, type GraphInput } from "../../src/graph/index.js";

const base = (): GraphInput => ({
  scope: defaultScope(),
  endpoints: [
    {
      id: 1,
      type: "workload",
      namespace: "shop",
      kind: "Deployment",
      name: "web",
      ip: "",
      first: 0,
      last: 1,
      flows: 5,
    },
    { id: 2, type: "workload", namespace: "shop", kind: "Identity", name: "web", ip: "", first: 0, last: 1, flows: 2 },
    { id: 3, type: "workload", namespace: "shop", kind: "Deployment", name: "db", ip: "", first: 0, last: 1, flows: 5 },
    { id: 4, type: "unknown", namespace: "", kind: "", name: "", ip: "10.1.0.5", first: 0, last: 1, flows: 1 },
    { id: 5, type: "entity", namespace: "", kind: "", name: "host", ip: "10.1.0.5", first: 0, last: 1, flows: 1 },
    {
      id: 6,
      type: "entity",
      namespace: "",
      kind: "",
      name: "remote-node",
      ip: "10.1.0.6",
      first: 0,
      last: 1,
      flows: 1,
    },
  ],
  pods: [
    {
      namespace: "shop",
      name: "web-abc-1",
      endpointId: 1,
      labels: { app: "web", "pod-template-hash": "abc" },
      serviceAccount: "",
      first: 0,
      last: 1,
    },
    {
      namespace: "shop",
      name: "identity-1",
      endpointId: 2,
      labels: { app: "web" },
      serviceAccount: "",
      first: 0,
      last: 1,
    },
    { namespace: "shop", name: "db-0", endpointId: 3, labels: { app: "db" }, serviceAccount: "", first: 0, last: 1 },
  ],
  namespaces: [{ name: "shop", labels: {} }],
  edges: [
    {
      srcId: 1,
      dstId: 3,
      protocol: "TCP",
      port: 5432,
      verdict: "forwarded",
      system: "hubble",
      count: 3,
      first: 0,
      last: 1,
      dropReason: "",
    },
    {
      srcId: 2,
      dstId: 3,
      protocol: "TCP",
      port: 5432,
      verdict: "audit",
      system: "hubble",
      count: 2,
      first: 0,
      last: 2,
      dropReason: "",
    },
    {
      srcId: 4,
      dstId: 1,
      protocol: "TCP",
      port: 8080,
      verdict: "forwarded",
      system: "hubble",
      count: 1,
      first: 0,
      last: 1,
      dropReason: "",
    },
    {
      srcId: 6,
      dstId: 1,
      protocol: "TCP",
      port: 8080,
      verdict: "forwarded",
      system: "hubble",
      count: 1,
      first: 0,
      last: 1,
      dropReason: "",
    },
    {
      srcId: 3,
      dstId: 1,
      protocol: "TCP",
      port: 80,
      verdict: "dropped",
      system: "hubble",
      count: 4,
      first: 0,
      last: 1,
      dropReason: "POLICY_DENIED",
    },
    {
      srcId: 3,
      dstId: 1,
      protocol: "TCP",
      port: 81,
      verdict: "unknown",
      system: "hubble",
      count: 4,
      first: 0,
      last: 1,
      dropReason: "",
    },
  ],
  dnsNames: [],
  services: [],
});

describe("buildGraph", () => {
  const g = buildGraph(base(), { catalog: [], sharedMinNamespaces: 3 });

  it("merges a peer known only by its labels into the workload whose pods carry them", () => {
    expect(g.nodes.has("shop/Identity/web")).toBe(false);
    expect(g.allowed.filter((e) => e.to === "shop/Deployment/db")).toMatchObject([
      { from: "shop/Deployment/web", count: 5, verdicts: ["audit", "forwarded"], last: 2 },
    ]);
  });

  it("collapses host and remote-node into one nodes entity, and maps an unknown IP of a node to it", () => {
    const nodes = g.nodes.get("entity:nodes");
    expect(nodes).toMatchObject({ type: "entity", ips: ["10.1.0.5", "10.1.0.6"] });
    expect(g.allowed.filter((e) => e.from === "entity:nodes")).toMatchObject([{ to: "shop/Deployment/web", count: 2 }]);
  });

  it("keeps drops apart as denied today and ignores unknown verdicts", () => {
    expect(g.denied).toMatchObject([
      { from: "shop/Deployment/db", to: "shop/Deployment/web", port: 80, dropReasons: ["POLICY_DENIED"] },
    ]);
    expect([...g.allowed, ...g.denied].some((e) => e.port === 81)).toBe(false);
  });

  it("does not give policies to excluded namespaces", () => {
    const input = base();
    input.scope = { ...defaultScope(), excludeNamespaces: ["shop"] };
    expect(buildGraph(input, { catalog: [], sharedMinNamespaces: 3 }).namespaces).toEqual([]);
  });
});
