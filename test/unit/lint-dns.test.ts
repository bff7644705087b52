import { describe, expect, it } from "vitest";
import { PolicyEngine } from "../../src/policy/engine.js";
import { labelsSelectedBy, podsWithoutDns } from "../../src/policy/lint-dns.js";
import { buildTopology } from "../../src/policy/objects.js";
import { compileSelector } from "../../src/policy/selector.js";
import type { LabelSelector } from "../../src/policy/types.js";

describe("labelsSelectedBy", () => {
  it.each<[string, LabelSelector, Record<string, string> | undefined]>([
    ["matchLabels as they are", { matchLabels: { app: "web" } }, { app: "web" }],
    [
      "In takes its first value, Exists a placeholder, NotIn and DoesNotExist leave the key out",
      {
        matchExpressions: [
          { key: "tier", operator: "In", values: ["front", "edge"] },
          { key: "team", operator: "Exists" },
          { key: "env", operator: "NotIn", values: ["dev"] },
          { key: "canary", operator: "DoesNotExist" },
        ],
      },
      { tier: "front", team: "any" },
    ],
    [
      "a contradiction builds no pod",
      { matchLabels: { app: "web" }, matchExpressions: [{ key: "app", operator: "NotIn", values: ["web"] }] },
      undefined,
    ],
  ])("%s", (_name, selector, labels) => {
    const got = labelsSelectedBy(selector);
    expect(got).toEqual(labels);
    if (got) expect(compileSelector(selector)(got)).toBe(true);
  });
});

const policy = (name: string, podSelector: LabelSelector, egress: unknown[]) => ({
  value: {
    kind: "NetworkPolicy",
    metadata: { name, namespace: "shop" },
    spec: { podSelector, policyTypes: ["Egress"], egress },
  },
  source: { file: "p.yaml", document: 0 },
});

const TO_KUBE_DNS = {
  to: [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    },
  ],
  ports: [{ protocol: "UDP", port: 53 }],
};

describe("podsWithoutDns (no workloads given)", () => {
  const judge = (objects: ReturnType<typeof policy>[]) => {
    const topo = buildTopology(objects);
    const blamed = podsWithoutDns(topo, new PolicyEngine(topo.policies, topo.namespaces), []);
    return [...blamed].map(([p, who]) => `${p.name}: ${who.join(", ")}`);
  };

  it("counts a DNS rule in the policy itself, whatever its podSelector", () => {
    expect(judge([policy("web", { matchLabels: { app: "web" } }, [TO_KUBE_DNS])])).toEqual([]);
  });

  it("counts a DNS rule of a {} policy for the pods another policy isolates", () => {
    expect(
      judge([
        policy("web", { matchLabels: { app: "web" } }, [{ to: [{ podSelector: {} }] }]),
        policy("dns", {}, [TO_KUBE_DNS]),
      ]),
    ).toEqual([]);
  });

  it.each([
    ["own namespace on every port", { to: [{ podSelector: {} }] }],
    [
      "DNS port to the Service IP (judged after DNAT)",
      { to: [{ ipBlock: { cidr: "10.96.0.10/32" } }], ports: [{ protocol: "UDP", port: 53 }] },
    ],
    [
      "the internet but not private or link-local ranges",
      {
        to: [
          {
            ipBlock: {
              cidr: "0.0.0.0/0",
              except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"],
            },
          },
        ],
      },
    ],
  ])("blames the policy when its pods reach no DNS: %s", (_name, rule) => {
    expect(judge([policy("web", { matchLabels: { app: "web" } }, [rule])])).toEqual(["web: pods app=web"]);
  });

  it.each([
    [
      "the whole IPv4 space minus the metadata address",
      { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.169.254/32"] } }] },
    ],
    ["NodeLocal DNSCache", { to: [{ ipBlock: { cidr: "169.254.20.10/32" } }], ports: [{ protocol: "UDP", port: 53 }] }],
    [
      "any namespace's kube-dns pods",
      { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }] },
    ],
  ])("finds a path through %s", (_name, rule) => {
    expect(judge([policy("web", { matchLabels: { app: "web" } }, [rule])])).toEqual([]);
  });
});
