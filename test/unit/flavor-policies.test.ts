import { describe, expect, it } from "vitest";
import { type Endpoint, ipEndpoint, PolicyEngine } from "../../src/policy/engine.js";
import { buildTopology, type RawObject, type Topology } from "../../src/policy/objects.js";

/**
 * CiliumNetworkPolicy and StagedKubernetesNetworkPolicy read into the one engine: each construct
 * flowpol's flavors emit gives the verdict Cilium / Calico would, and what the engine cannot model
 * is refused, never skipped.
 */
const raw = (value: Record<string, unknown>): RawObject => ({ value, source: { file: "t.yaml", document: 0 } });

function cnp(spec: Record<string, unknown>, name = "p", namespace = "shop"): RawObject {
  return raw({ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name, namespace }, spec });
}

function topology(...objects: RawObject[]): Topology {
  const t = buildTopology(objects);
  expect(t.problems.flatMap((p) => p.issues)).toEqual([]);
  expect(t.unsupported.flatMap((p) => p.issues)).toEqual([]);
  return t;
}

const pod = (namespace: string, labels: Record<string, string>): Endpoint => ({
  kind: "pod",
  pod: { namespace, labels },
});
const ip = (address: string, extra: { entity?: string; dnsNames?: string[] } = {}): Endpoint => ({
  ...(ipEndpoint(address) as Extract<Endpoint, { kind: "ip" }>),
  ...extra,
});

const web = pod("shop", { app: "web" });
const api = pod("shop", { app: "api" });

function allowed(t: Topology, src: Endpoint, dst: Endpoint, port = 80, protocol: "TCP" | "UDP" = "TCP"): boolean {
  return new PolicyEngine(t.policies, t.namespaces).decide(src, dst, protocol, port).allowed;
}

describe("CiliumNetworkPolicy", () => {
  it("selects endpoints by labels, k8s: prefixes dropped, peers in the policy's namespace by default", () => {
    const t = topology(
      cnp({
        endpointSelector: { matchLabels: { "k8s:app": "api" } },
        ingress: [{ fromEndpoints: [{ matchLabels: { app: "web" } }], toPorts: [{ ports: [{ port: "80" }] }] }],
      }),
    );
    expect(allowed(t, web, api)).toBe(true);
    expect(allowed(t, web, api, 81)).toBe(false);
    expect(allowed(t, web, api, 80, "UDP")).toBe(true); // no protocol: ANY
    expect(allowed(t, pod("other", { app: "web" }), api)).toBe(false);
    expect(allowed(t, api, web)).toBe(true); // web is not selected
  });

  it("reads the namespace keys flowpol emits: a named namespace, and every namespace", () => {
    const t = topology(
      cnp({
        endpointSelector: { matchLabels: { app: "api" } },
        ingress: [
          {
            fromEndpoints: [
              { matchLabels: { app: "prom", "k8s:io.kubernetes.pod.namespace": "monitoring" } },
              {
                matchExpressions: [{ key: "k8s:io.kubernetes.pod.namespace", operator: "Exists" }],
                matchLabels: { role: "probe" },
              },
            ],
          },
        ],
      }),
    );
    expect(allowed(t, pod("monitoring", { app: "prom" }), api)).toBe(true);
    expect(allowed(t, pod("shop", { app: "prom" }), api)).toBe(false);
    expect(allowed(t, pod("anywhere", { role: "probe" }), api)).toBe(true);
  });

  it("matches entities against the identity each address was seen as", () => {
    const t = topology(
      cnp({
        endpointSelector: { matchLabels: { app: "api" } },
        ingress: [{ fromEntities: ["host", "remote-node"] }],
        egress: [{ toEntities: ["kube-apiserver"], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] }],
      }),
    );
    expect(allowed(t, ip("10.0.0.5", { entity: "host" }), api)).toBe(true);
    expect(allowed(t, ip("10.0.0.6", { entity: "remote-node" }), api)).toBe(true);
    expect(allowed(t, ip("10.0.0.5"), api)).toBe(false); // the same address seen as world
    expect(allowed(t, web, api)).toBe(false);
    expect(allowed(t, api, ip("10.96.0.1", { entity: "kube-apiserver" }), 443)).toBe(true);
    expect(allowed(t, api, ip("10.96.0.1", { entity: "host" }), 443)).toBe(false);
  });

  it("world is every address outside the cluster; cluster every pod and node, all everything", () => {
    const world = topology(cnp({ endpointSelector: {}, egress: [{ toEntities: ["world"] }] }));
    expect(allowed(world, api, ip("93.184.216.34"))).toBe(true);
    expect(allowed(world, api, ip("10.0.0.5", { entity: "host" }))).toBe(false);
    expect(allowed(world, api, web)).toBe(false);
    const cluster = topology(cnp({ endpointSelector: {}, egress: [{ toEntities: ["cluster"] }] }));
    expect(allowed(cluster, api, pod("other", { any: "x" }))).toBe(true);
    expect(allowed(cluster, api, ip("10.0.0.5", { entity: "remote-node" }))).toBe(true);
    expect(allowed(cluster, api, ip("93.184.216.34"))).toBe(false);
    const all = topology(cnp({ endpointSelector: {}, egress: [{ toEntities: ["all"] }] }));
    expect(allowed(all, api, ip("93.184.216.34"))).toBe(true);
    expect(allowed(all, api, { kind: "unknown" })).toBe(true);
  });

  it("CIDR rules match addresses outside the cluster only, never nodes", () => {
    const t = topology(
      cnp({
        endpointSelector: {},
        egress: [{ toCIDR: ["10.0.0.0/8"] }, { toCIDRSet: [{ cidr: "192.168.0.0/16", except: ["192.168.1.0/24"] }] }],
      }),
    );
    expect(allowed(t, api, ip("10.1.2.3"))).toBe(true);
    expect(allowed(t, api, ip("10.0.0.5", { entity: "host" }))).toBe(false);
    expect(allowed(t, api, ip("192.168.2.1"))).toBe(true);
    expect(allowed(t, api, ip("192.168.1.1"))).toBe(false);
  });

  it("toFQDNs match destinations whose observed DNS names match", () => {
    const t = topology(
      cnp({
        endpointSelector: {},
        egress: [
          {
            toFQDNs: [{ matchName: "api.stripe.com" }, { matchPattern: "*.googleapis.com" }],
            toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }],
          },
        ],
      }),
    );
    expect(allowed(t, api, ip("1.2.3.4", { dnsNames: ["api.stripe.com."] }), 443)).toBe(true);
    expect(allowed(t, api, ip("1.2.3.5", { dnsNames: ["storage.googleapis.com"] }), 443)).toBe(true);
    expect(allowed(t, api, ip("1.2.3.6", { dnsNames: ["googleapis.com.evil.io"] }), 443)).toBe(false);
    expect(allowed(t, api, ip("1.2.3.4"), 443)).toBe(false); // no name observed for the address
  });

  it("an empty rule isolates and allows nothing; ports alone allow every peer; dns rules keep the connection", () => {
    const deny = topology(cnp({ endpointSelector: {}, ingress: [{}], egress: [{}] }));
    expect(allowed(deny, web, api)).toBe(false);
    expect(allowed(deny, ip("1.1.1.1"), api)).toBe(false);
    const portsOnly = topology(
      cnp({
        endpointSelector: { matchLabels: { app: "api" } },
        ingress: [{ toPorts: [{ ports: [{ port: "53", protocol: "UDP" }], rules: { dns: [{ matchPattern: "*" }] } }] }],
      }),
    );
    expect(allowed(portsOnly, pod("far", { x: "y" }), api, 53, "UDP")).toBe(true);
    expect(allowed(portsOnly, pod("far", { x: "y" }), api, 53, "TCP")).toBe(false);
  });

  it("a policy with no ingress section leaves ingress open", () => {
    const t = topology(cnp({ endpointSelector: {}, egress: [{ toEndpoints: [{}] }] }));
    expect(allowed(t, pod("far", {}), api)).toBe(true);
    expect(allowed(t, api, pod("far", {}))).toBe(false);
  });

  it("refuses what it cannot model, naming each construct", () => {
    const t = buildTopology([
      cnp({
        endpointSelector: {},
        ingressDeny: [{ fromEntities: ["world"] }],
        ingress: [{ toPorts: [{ ports: [{ port: "80" }], rules: { http: [{ method: "GET" }] } }] }],
        egress: [
          { toServices: [{ k8sService: { serviceName: "x" } }] },
          { toEndpoints: [{ matchLabels: { "reserved:host": "" } }] },
        ],
      }),
      raw({ apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "c" }, spec: {} }),
      raw({
        apiVersion: "projectcalico.org/v3",
        kind: "NetworkPolicy",
        metadata: { name: "n", namespace: "shop" },
        spec: {},
      }),
      raw({
        apiVersion: "projectcalico.org/v3",
        kind: "StagedKubernetesNetworkPolicy",
        metadata: { name: "d", namespace: "shop" },
        spec: { stagedAction: "Delete", podSelector: {} },
      }),
    ]);
    expect(t.policies).toEqual([]);
    expect(t.unsupported.map((u) => u.issues.map((i) => i.path))).toEqual([
      [
        "spec.ingressDeny",
        "spec.ingress[0].toPorts[0].rules.http",
        "spec.egress[0].toServices",
        "spec.egress[1].toEndpoints[0].matchLabels",
      ],
      ["kind"],
      ["kind"],
      ["spec.stagedAction"],
    ]);
  });

  it("reports malformed fields as invalid", () => {
    const t = buildTopology([
      cnp({ endpointSelector: {}, egress: [{ toEntities: ["planet"] }, { toCIDR: ["10.0.0.300/8"] }] }),
    ]);
    expect(t.policies).toEqual([]);
    expect(t.problems[0]?.issues.map((i) => i.message).join("\n")).toMatch(
      /"planet" is not a Cilium entity[\s\S]*CIDR/,
    );
  });
});

describe("StagedKubernetesNetworkPolicy", () => {
  it("is judged as the NetworkPolicy it stages", () => {
    const spec = {
      podSelector: { matchLabels: { app: "api" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 80 }] }],
    };
    const staged = topology(
      raw({
        apiVersion: "projectcalico.org/v3",
        kind: "StagedKubernetesNetworkPolicy",
        metadata: { name: "p", namespace: "shop" },
        spec: { ...spec, stagedAction: "Set" },
      }),
    );
    const plain = topology(
      raw({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "p", namespace: "shop" },
        spec,
      }),
    );
    for (const [src, dst, port] of [
      [web, api, 80],
      [web, api, 81],
      [api, web, 80],
      [pod("x", { app: "web" }), api, 80],
    ] as const) {
      expect(allowed(staged, src, dst, port)).toBe(allowed(plain, src, dst, port));
    }
    expect(staged.policies[0]?.kind).toBe("StagedKubernetesNetworkPolicy");
  });

  it("may share a name with a NetworkPolicy (another kind)", () => {
    const meta = { name: "p", namespace: "shop" };
    const t = topology(
      raw({
        apiVersion: "projectcalico.org/v3",
        kind: "StagedKubernetesNetworkPolicy",
        metadata: meta,
        spec: { podSelector: {} },
      }),
      raw({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: meta, spec: { podSelector: {} } }),
    );
    expect(t.policies).toHaveLength(2);
  });
});
