import { describe, expect, it } from "vitest";
import { workloadLabelSets } from "../../src/diff/observed.js";
import { type Endpoint, PolicyEngine } from "../../src/policy/engine.js";
import type { NetworkPolicy } from "../../src/policy/types.js";
import { judgeConnection } from "../../src/policy/verdict.js";

const pod = (labels: Record<string, string>, namespace = "shop"): Endpoint => ({
  kind: "pod",
  pod: { namespace, labels },
});

/** cart accepts TCP 7070 from app=frontend only. */
const policies: NetworkPolicy[] = [
  {
    name: "allow-frontend-to-cart",
    namespace: "shop",
    podSelector: { matchLabels: { app: "cart" } },
    policyTypes: ["Ingress"],
    ingress: [
      { from: [{ podSelector: { matchLabels: { app: "frontend" } } }], ports: [{ protocol: "TCP", port: 7070 }] },
    ],
  },
];
const engine = new PolicyEngine(policies);
const judge = (src: Endpoint[], dst: Endpoint[], protocol = "TCP", port = 7070, fromNode = false) =>
  judgeConnection(engine, { src, dst, protocol, port, fromNode });

describe("the one verdict", () => {
  it("allows, denies, or leaves unprotected", () => {
    expect(judge([pod({ app: "frontend" })], [pod({ app: "cart" })]).status).toBe("allowed");
    expect(judge([pod({ app: "report" })], [pod({ app: "cart" })]).status).toBe("denied");
    expect(judge([pod({ app: "report" })], [pod({ app: "cart" })]).deniedBy).toEqual(["ingress"]);
    expect(judge([pod({ app: "cart" })], [pod({ app: "frontend" })]).status).toBe("unprotected");
  });

  it("judges a workload by every label set of its pods: denied if any pair is", () => {
    const frontend = [pod({ app: "frontend", track: "stable" }), pod({ app: "frontend", track: "canary" })];
    expect(judge(frontend, [pod({ app: "cart" })]).status).toBe("allowed");
    const mixed = [pod({ app: "frontend" }), pod({ app: "legacy" })];
    expect(judge(mixed, [pod({ app: "cart" })]).status).toBe("denied");
    const cart = [pod({ app: "cart" }), pod({ app: "cart-v2" })];
    // One destination set is isolated and allows it, the other is not isolated: allowed.
    expect(judge([pod({ app: "frontend" })], cart).status).toBe("allowed");
  });

  it("passes a protocol without ports only where nothing isolates, and traffic from the pod's own node", () => {
    expect(judge([pod({ app: "frontend" })], [pod({ app: "cart" })], "ICMPv4", 0).status).toBe("denied");
    expect(judge([pod({ app: "frontend" })], [pod({ app: "web" })], "ICMPv4", 0).status).toBe("unprotected");
    const node: Endpoint = { kind: "ip", range: { family: 4, start: 0x0a010005n, end: 0x0a010005n } };
    expect(judge([node], [pod({ app: "cart" })], "TCP", 8080, true).status).toBe("allowed");
    expect(judge([node], [pod({ app: "cart" })], "TCP", 8080, false).status).toBe("denied");
  });

  it("counts a pod recorded without labels only when no pod of the workload has any", () => {
    expect(workloadLabelSets([{}, { "k8s-app": "node-local-dns" }, {}])).toEqual([{ "k8s-app": "node-local-dns" }]);
    expect(workloadLabelSets([{}, {}])).toEqual([{}]);
    expect(
      workloadLabelSets([
        { b: "1", a: "2" },
        { a: "2", b: "1" },
      ]),
    ).toEqual([{ b: "1", a: "2" }]);
  });
});
