import { describe, expect, it } from "vitest";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import type { Flow, FlowEndpoint } from "../../src/model/flow.js";

function pod(name: string, service?: { namespace: string; name: string }): FlowEndpoint {
  return {
    namespace: "shop",
    podName: `${name}-5d9c7b8f6d-x2x9q`,
    workload: { kind: "Deployment", name },
    labels: { app: name },
    namespaceLabels: {},
    dnsNames: [],
    ...(service && { service }),
  };
}

const frontend = pod("frontend");
const cart = pod("cart", { namespace: "shop", name: "cart" });
/** Another pod object of the same workloads: the same edge. */
const frontendAgain = pod("frontend");
const cartAgain = pod("cart", { namespace: "shop", name: "cart" });
const cartNoService = pod("cart");

function flow(change: Partial<Flow> = {}): Flow {
  return {
    time: 1000,
    verdict: "forwarded",
    direction: "egress",
    isReply: false,
    protocol: "TCP",
    sourcePort: 40000,
    destinationPort: 7070,
    source: frontend,
    destination: cart,
    count: 1,
    sourceSystem: "hubble",
    ...change,
  } as Flow;
}

function edgesOf(flows: Flow[]) {
  const builder = new BatchBuilder();
  for (const f of flows) builder.addFlow(f);
  const batch = builder.build();
  return {
    edges: batch.edges.map((e) => `${e.src.name}>${e.dst.name} ${e.protocol}/${e.port} ${e.verdict} ${e.count}`),
    services: batch.services.map((s) => `${s.name} ${s.protocol}/${s.port} ${s.count}`),
  };
}

describe("BatchBuilder edges of one endpoint pair", () => {
  it.each([
    ["the same connection twice", [flow(), flow({ sourcePort: 40001 })], ["frontend>cart TCP/7070 forwarded 2"]],
    [
      "another port",
      [flow(), flow({ destinationPort: 9555 })],
      ["frontend>cart TCP/7070 forwarded 1", "frontend>cart TCP/9555 forwarded 1"],
    ],
    [
      "another verdict",
      [flow(), flow({ verdict: "dropped" })],
      ["frontend>cart TCP/7070 forwarded 1", "frontend>cart TCP/7070 dropped 1"],
    ],
    [
      "another protocol",
      [flow(), flow({ protocol: "UDP" })],
      ["frontend>cart TCP/7070 forwarded 1", "frontend>cart UDP/7070 forwarded 1"],
    ],
    [
      "another source system",
      [flow(), flow({ sourceSystem: "calico" })],
      ["frontend>cart TCP/7070 forwarded 1", "frontend>cart TCP/7070 forwarded 1"],
    ],
    [
      "other pod objects of the same workloads",
      [flow(), flow({ source: frontendAgain, destination: cartAgain })],
      ["frontend>cart TCP/7070 forwarded 2"],
    ],
    ["a reply, which adds no edge", [flow(), flow({ isReply: true })], ["frontend>cart TCP/7070 forwarded 1"]],
  ])("%s", (_what, flows, edges) => {
    expect(edgesOf(flows).edges).toEqual(edges);
    // The second time round the edges are found without their keys: the same answer.
    expect(edgesOf([...flows, ...flows]).edges).toEqual(edges.map((e) => e.replace(/ (\d+)$/, (_, n) => ` ${2 * n}`)));
  });

  it("finds a pair's edges beyond the ones it lists (a port scan) by their keys, with their Services", () => {
    const ports = Array.from({ length: 40 }, (_, i) => 1000 + i);
    const scan = ports.map((destinationPort) => flow({ destinationPort }));
    // Three rounds over the 40 ports, the third through another pod object of the same workloads.
    const again = ports.map((destinationPort) => flow({ destinationPort, destination: cartAgain }));
    expect(edgesOf([...scan, ...scan, ...again])).toEqual({
      edges: ports.map((p) => `frontend>cart TCP/${p} forwarded 3`),
      services: ports.map((p) => `cart TCP/${p} 3`),
    });
  });

  it("counts a Service only for flows that name it, to allowed verdicts", () => {
    const flows = [flow(), flow({ destination: cartNoService }), flow({ verdict: "dropped" }), flow()];
    expect(edgesOf(flows)).toEqual({
      edges: ["frontend>cart TCP/7070 forwarded 3", "frontend>cart TCP/7070 dropped 1"],
      services: ["cart TCP/7070 2"],
    });
  });
});
