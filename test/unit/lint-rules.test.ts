import { describe, expect, it } from "vitest";
import { lint } from "../../src/policy/lint.js";
import { buildTopology } from "../../src/policy/objects.js";

/** One policy in namespace shop, linted alone; the ids found besides the namespace-level ones. */
function ids(spec: Record<string, unknown>): string[] {
  const topo = buildTopology([
    {
      value: { kind: "NetworkPolicy", metadata: { name: "p", namespace: "shop" }, spec },
      source: { file: "p.yaml", document: 0 },
    },
  ]);
  return lint(topo)
    .filter((f) => f.policy)
    .map((f) => f.id);
}

describe("NP013-rollout-label", () => {
  it.each([
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "job-name",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
  ])("fires on a selector on %s", (key) => {
    expect(ids({ podSelector: { matchLabels: { [key]: "x1" } } })).toEqual(["NP013-rollout-label"]);
    expect(
      ids({
        podSelector: {},
        ingress: [{ from: [{ podSelector: { matchExpressions: [{ key, operator: "Exists" }] } }] }],
      }),
    ).toEqual(["NP013-rollout-label"]);
  });

  it("is silent on stable labels", () => {
    expect(ids({ podSelector: { matchLabels: { "app.kubernetes.io/name": "web", app: "web" } } })).toEqual([]);
  });
});

describe("NP014-every-namespace", () => {
  const from = (namespaceSelector: unknown, podSelector?: unknown) => ({
    podSelector: {},
    ingress: [
      { from: [podSelector ? { namespaceSelector, podSelector } : { namespaceSelector }], ports: [{ port: 80 }] },
    ],
  });
  it.each([
    ["Exists on the name label", { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }] }],
    [
      "NotIn a short list",
      {
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "monitoring"] },
        ],
      },
    ],
    ["DoesNotExist on a label", { matchExpressions: [{ key: "quarantined", operator: "DoesNotExist" }] }],
  ])("fires on %s", (_name, selector) => {
    expect(ids(from(selector))).toEqual(["NP014-every-namespace"]);
  });

  it.each([
    ["In a list", { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["web"] }] }],
    ["a label new namespaces lack", { matchLabels: { team: "shop" } }],
  ])("is silent on %s", (_name, selector) => {
    expect(ids(from(selector))).toEqual([]);
  });

  it("is silent when a podSelector narrows the peer (as NP004 is)", () => {
    const selector = { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }] };
    expect(ids(from(selector, { matchLabels: { app: "prometheus" } }))).toEqual([]);
  });
});
