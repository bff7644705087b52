import { describe, expect, it } from "vitest";
import type { DependencyGraph } from "../../src/graph/index.js";
import { servedPorts } from "../../src/synth/served-ports.js";

function graph(edges: Array<[string, string, number]>): DependencyGraph {
  const nodes = new Map<string, unknown>([
    ["shop/Deployment/cart", { type: "workload" }],
    ["shop/Deployment/web", { type: "workload" }],
    ["entity:nodes", { type: "entity" }],
  ]);
  return {
    nodes,
    allowed: edges.map(([to, protocol, port]) => ({ from: "shop/Deployment/web", to, protocol, port })),
  } as unknown as DependencyGraph;
}

describe("servedPorts", () => {
  it("lists each workload's ports once, in the order first seen; not entities' nor portless ones", () => {
    const served = servedPorts(
      graph([
        ["shop/Deployment/cart", "TCP", 7070],
        ["shop/Deployment/cart", "UDP", 7070],
        ["shop/Deployment/cart", "TCP", 7070],
        ["shop/Deployment/cart", "TCP", 0],
        ["entity:nodes", "UDP", 53],
        ["shop/Deployment/cart", "TCP", 80],
      ]),
    );
    expect([...served]).toEqual([
      [
        "shop/Deployment/cart",
        [
          { protocol: "TCP", port: 7070 },
          { protocol: "UDP", port: 7070 },
          { protocol: "TCP", port: 80 },
        ],
      ],
    ]);
  });

  it("keeps all 65,535 ports of a port scan", () => {
    const scan = Array.from({ length: 65535 }, (_, i): [string, string, number] => [
      "shop/Deployment/cart",
      "TCP",
      i + 1,
    ]);
    expect(servedPorts(graph([...scan, ...scan])).get("shop/Deployment/cart")).toHaveLength(65535);
  });
});
