import { readFileSync } from "node:fs";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildGraph, type DependencyGraph, defaultScope, parseCatalog } from "../../src/graph/index.js";
import { DEFAULT_CLUSTER } from "../../src/model/batch.js";
import { MANAGED_BY_LABEL } from "../../src/model/labels.js";
import { toYaml } from "../../src/render/yaml.js";
import { openStore } from "../../src/store/db.js";
import { readGraphInput } from "../../src/store/read-graph.js";
import { readObserved } from "../../src/store/read-observed.js";
import {
  defaultSynthOptions,
  type Flavor,
  generateTree,
  type NetworkPolicyObject,
  proveObserved,
  proveProbes,
  proveUnobserved,
  type SynthOptions,
  synthesize,
  synthesizeSound,
} from "../../src/synth/index.js";
import { ciliumPolicyErrors } from "../helpers/cilium-schema.js";
import { expectGolden } from "../helpers/golden.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";
import { CART, flow, pod, shopFlows, writeStore } from "../helpers/shop-store.js";

const catalog = parseCatalog(readFileSync(`${REPO_ROOT}/templates/shared-services.yaml`, "utf8"), "catalog");
let tmp: ReturnType<typeof tempDir>;
let dbPath: string;

beforeAll(() => {
  tmp = tempDir();
  dbPath = writeStore(tmp.dir);
});
afterAll(() => tmp.cleanup());

function graphOf(scope = defaultScope()): DependencyGraph {
  const db = openStore(dbPath, { mustExist: true, readonly: true });
  try {
    return buildGraph(readGraphInput(db, scope, DEFAULT_CLUSTER), { catalog, sharedMinNamespaces: 3 });
  } finally {
    db.close();
  }
}

function run(flavor: Flavor, options: Partial<SynthOptions> = {}) {
  const graph = graphOf();
  const plan = synthesize(graph, { ...defaultSynthOptions(), flavor, ...options });
  return { graph, plan, tree: generateTree(graph, plan, flavor) };
}

const asText = (files: Array<{ path: string; content: string }>) =>
  files.map((f) => `=== ${f.path}\n${f.content}`).join("\n");

describe("synthesis on a hand-built store", () => {
  it.each([["kubernetes"], ["cilium"], ["calico-staged"]] as const)(
    "writes the %s flavor exactly as the golden file",
    (flavor) => {
      expectGolden(asText(run(flavor).tree.files), `${REPO_ROOT}/test/golden/synth/shop-${flavor}.txt`);
    },
  );

  it.each([["kubernetes"], ["cilium"], ["calico-staged"]] as const)(
    "writes YAML that reads back as exactly the objects (%s)",
    (flavor) => {
      const { tree } = run(flavor);
      const yamlFiles = tree.files.filter((f) => f.path.endsWith(".yaml") && !f.path.endsWith("kustomization.yaml"));
      expect(yamlFiles.map((f) => parse(f.content))).toEqual(tree.manifests);
    },
  );

  it.each([
    [
      "strings that look like numbers, booleans or null",
      { a: "443", b: "yes", c: "null", d: "1.5", e: "0x1f", f: "Off" },
    ],
    [
      "strings with spaces, colons, wildcards",
      { a: "a b", b: "k8s:io.kubernetes.pod.namespace", c: "*", d: "2001:db8::/48" },
    ],
    ["nested empties and lists", { a: {}, b: [], c: [{}, { x: [1, "2"] }], d: { e: { f: true } } }],
  ])("round-trips %s through toYaml", (_name, object) => {
    expect(parse(toYaml(object as Record<string, unknown>))).toEqual(object);
  });

  it("quotes label values a YAML 1.1 reader would take for a date, a boolean or a number", () => {
    const labels = {
      a: "2001-12-14",
      b: "2001-12-14t21:59:43.10-05:00",
      c: "yes",
      d: "no",
      e: "on",
      f: "off",
      g: "0755",
      h: "1_000",
      i: "190:20:30",
      j: "y",
      k: "plain-value",
    };
    const text = toYaml({ metadata: { labels } });
    expect(parse(text, { version: "1.1" })).toEqual({ metadata: { labels } });
    expect(parse(text)).toEqual({ metadata: { labels } });
    expect(text).toContain("k: plain-value");
  });

  it("gives byte-identical files for the same store", () => {
    expect(asText(run("kubernetes").tree.files)).toBe(asText(run("kubernetes").tree.files));
  });

  it.each([["kubernetes"], ["calico-staged"]] as const)(
    "produces objects whose spec is a valid Kubernetes NetworkPolicy spec (%s)",
    (flavor) => {
      const { tree } = run(flavor);
      expect(tree.manifests.length).toBeGreaterThan(5);
      for (const m of tree.manifests) {
        const { stagedAction, ...spec } = m.spec as Record<string, unknown>;
        if (flavor === "calico-staged") expect(stagedAction).toBe("Set");
        const np = new NetworkPolicy({ metadata: m.metadata, spec } as unknown as ConstructorParameters<
          typeof NetworkPolicy
        >[0]);
        expect(() => np.validate(), m.metadata.name).not.toThrow();
        expect(m.metadata.labels[MANAGED_BY_LABEL]).toBe("flowpol");
        expect(m.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
      }
    },
  );

  it("produces objects that are valid CiliumNetworkPolicies (cilium)", () => {
    const { tree } = run("cilium");
    expect(tree.manifests.length).toBeGreaterThan(5);
    for (const m of tree.manifests) {
      expect(m.kind).toBe("CiliumNetworkPolicy");
      expect(ciliumPolicyErrors(m), m.metadata.name).toEqual([]);
      expect(m.metadata.labels[MANAGED_BY_LABEL]).toBe("flowpol");
    }
  });

  it("checks CiliumNetworkPolicies against the CRD's constraints (the check refuses what Cilium refuses)", () => {
    const manifests = run("cilium").tree.manifests;
    const allowDns = manifests.find((m) => m.metadata.name === "allow-dns");
    expect(allowDns).toBeDefined();
    // biome-ignore lint/suspicious/noExplicitAny: broken manifests are built by changing any field
    type Editable = Record<string, any>;
    const broken = (edit: (m: Editable) => void) => {
      const m = JSON.parse(JSON.stringify(allowDns)) as Editable;
      edit(m);
      return ciliumPolicyErrors(m);
    };
    expect(broken(() => {})).toEqual([]);
    expect(broken((m) => delete m.spec.endpointSelector)).toEqual(["/spec: must have endpointSelector"]);
    expect(broken((m) => (m.spec.egres = m.spec.egress))).toEqual(["/spec/egres: is not a field of the schema"]);
    expect(broken((m) => (m.spec.egress[1].toEntities = ["nodes"]))).toEqual([
      "/spec/egress/1/toEntities/0: must be one of all, world, cluster, host, init, ingress, unmanaged, remote-node, health, none, kube-apiserver",
    ]);
    expect(broken((m) => (m.spec.egress[0].toPorts[0].ports[0] = { port: 53, protocol: "tcp" }))).toEqual([
      "/spec/egress/0/toPorts/0/ports/0/port: must be a string",
      "/spec/egress/0/toPorts/0/ports/0/protocol: must be one of TCP, UDP, SCTP, VRRP, IGMP, ANY",
    ]);
    expect(broken((m) => (m.spec.egress[0].toPorts[0].ports[0].port = "-"))).toEqual([
      "/spec/egress/0/toPorts/0/ports/0/port: must be a port number or name",
    ]);
    expect(broken((m) => (m.spec.egress[0].toPorts[0].rules.dns = [{ matchName: "a", matchPattern: "*" }]))).toEqual([
      "/spec/egress/0/toPorts/0/rules/dns/0: must have exactly one of matchName, matchPattern (has 2)",
    ]);
    expect(broken((m) => (m.spec.egress[1] = { toCIDRSet: [{ cidr: "10.0.0.0/33", except: ["10.0.0.1"] }] }))).toEqual([
      "/spec/egress/1/toCIDRSet/0/cidr: must be a CIDR (address/prefix)",
      "/spec/egress/1/toCIDRSet/0/except/0: must be a CIDR (address/prefix)",
    ]);
    expect(broken((m) => (m.spec.egress[1] = { toFQDNs: [{ matchName: "a b.example" }] }))).toEqual([
      "/spec/egress/1/toFQDNs/0/matchName: must match ^([-a-zA-Z0-9_]+[.]?)+$",
    ]);
    expect(broken((m) => (m.spec.endpointSelector = { matchLabels: { app: "-x" } }))).toEqual([
      "/spec/endpointSelector/matchLabels/app: must be a label value",
    ]);
    expect(broken((m) => (m.spec.endpointSelector = { matchExpressions: [{ key: "a", operator: "Has" }] }))).toEqual([
      "/spec/endpointSelector/matchExpressions/0/operator: must be one of In, NotIn, Exists, DoesNotExist",
    ]);
    const ports41 = Array.from({ length: 41 }, () => ({ port: "1", protocol: "TCP" }));
    expect(broken((m) => (m.spec.egress[0].toPorts[0].ports = ports41))).toEqual([
      "/spec/egress/0/toPorts/0/ports: must have at most 40 items",
    ]);
    expect(broken((m) => (m.spec = { endpointSelector: {} }))).toEqual(["/spec: must have ingress or egress"]);
    expect(broken((m) => (m.metadata.name = "Bad_Name"))).toEqual(["/metadata/name: must be an RFC 1123 subdomain"]);
    expect(broken((m) => (m.apiVersion = "cilium.io/v1"))).toEqual(["/apiVersion: must be one of cilium.io/v2"]);
  });

  function observedOf(path = dbPath) {
    const db = openStore(path, { mustExist: true, readonly: true });
    try {
      return readObserved(db, {}, DEFAULT_CLUSTER);
    } finally {
      db.close();
    }
  }
  const context = { allowMetadata: false, minFlows: 1, unselectable: new Set<string>() };
  const proveAll = (policies: NetworkPolicyObject[]) => proveObserved(observedOf(), policies, context);

  it("allows every observed connection in the store but those with a documented reason, and nothing else", () => {
    const { graph, tree } = run("kubernetes");
    const proof = proveAll(tree.networkPolicies);
    expect(proof.observed).toBeGreaterThan(10);
    expect(proof.denied.map((d) => [d.from, d.to, d.protocol, d.port, d.reason])).toEqual([
      ["shop/frontend[Deployment]", "169.254.169.254", "TCP", 80, "metadata-address"],
      ["shop/frontend[Deployment]", "shop/cart[Deployment]", "ICMPv4", 0, "no-ports"],
    ]);
    expect(proof.allowed + proof.unprotected + proof.denied.length).toBe(proof.observed);
    const unobserved = proveUnobserved(graph, tree.networkPolicies);
    expect(unobserved.overPermissive).toEqual([]);
    expect(unobserved.unobservedPairsChecked).toBeGreaterThan(0);
    expect(unobserved.skipped).toBeUndefined();
  });

  it("catches a missing policy and an over-permissive one (the proof is not vacuous)", () => {
    const { graph, tree } = run("kubernetes");
    const without = tree.networkPolicies.filter((p) => p.metadata.name !== "allow-frontend-to-cart");
    expect(
      proveAll(without)
        .denied.filter((d) => d.reason === undefined)
        .map((d) => [d.from, d.to, d.port, d.deniedBy, d.sides]),
    ).toEqual([
      [
        "shop/frontend[Deployment]",
        "shop/cart[Deployment]",
        7070,
        ["ingress"],
        [{ namespace: "shop", direction: "ingress" }],
      ],
      [
        "shop/frontend[Deployment]",
        "shop/cart[Deployment]",
        7071,
        ["ingress"],
        [{ namespace: "shop", direction: "ingress" }],
      ],
    ]);
    const wide = {
      metadata: { name: "allow-all-in-shop", namespace: "shop", labels: {} },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{}], egress: [{}] },
    };
    expect(proveUnobserved(graph, [...tree.networkPolicies, wide]).overPermissive.length).toBeGreaterThan(0);
  });

  it.each([["kubernetes"], ["cilium"], ["calico-staged"]] as const)(
    "gives pods created later and addresses nobody observed no access beyond named exceptions (%s, read as written)",
    (flavor) => {
      const { graph, tree } = run(flavor);
      const probes = proveProbes(graph, tree.networkPolicies);
      expect(probes.skipped).toBeUndefined();
      expect(probes.checked).toBeGreaterThan(20);
      expect(probes.overPermissive).toEqual([]);
    },
  );

  it("catches probes the policies let through: an open egress, port 53 to every address, a pod created later", () => {
    const { graph, tree } = run("kubernetes");
    const policy = (name: string, spec: Record<string, unknown>) => ({
      metadata: { name, namespace: "shop", labels: {} },
      spec,
    });
    const openEgress = policy("allow-egress-anywhere", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }],
    });
    const dnsAnywhere = policy("allow-dns-anywhere", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ ports: [{ protocol: "UDP", port: 53 }] }],
    });
    const names = (...extra: NetworkPolicyObject[]) =>
      proveProbes(graph, [...tree.networkPolicies, ...extra]).overPermissive.map(
        (f) => `${f.probe} ${f.protocol}/${f.port}`,
      );
    expect(names(openEgress).some((n) => /-> (192\.0\.2\.1|198\.51\.100\.1|203\.0\.113\.1) TCP\/443/.test(n))).toBe(
      true,
    );
    expect(names(dnsAnywhere).some((n) => /-> node \S+ UDP\/53/.test(n))).toBe(true);
    // A pod created later in shop, with a label no policy names: both of its sides opened.
    const intoCart = policy("allow-any-pod-to-cart", {
      podSelector: { matchLabels: { app: "cart" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: {} }] }],
    });
    const outOfAny = policy("allow-any-pod-out-to-cart", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [{ podSelector: { matchLabels: { app: "cart" } } }] }],
    });
    expect(names(intoCart, outOfAny)).toContainEqual(expect.stringMatching(/^a new pod in shop -> shop\/\S*cart/));
  });

  it("leaves a direction un-isolated, and says so, where a workload without stable labels would be denied", () => {
    const dir = tempDir();
    try {
      const legacy = pod("shop", "Deployment", "legacy", "legacy-abc", {});
      const path = writeStore(dir.dir, [...shopFlows(), flow(legacy, CART, "TCP", 7070, { count: 4 })]);
      const db = openStore(path, { mustExist: true, readonly: true });
      const graph = (() => {
        try {
          return buildGraph(readGraphInput(db, defaultScope(), DEFAULT_CLUSTER), { catalog, sharedMinNamespaces: 3 });
        } finally {
          db.close();
        }
      })();
      const observed = observedOf(path);
      const options = { ...defaultSynthOptions(), flavor: "kubernetes" as const };

      const kept = synthesizeSound(graph, observed, options, { acceptDenied: true, minFlows: 1 });
      expect(
        kept.proof.denied.filter((d) => d.reason === "unselectable").map((d) => [d.from, d.to, d.deniedBy]),
      ).toEqual([["shop/legacy[Deployment]", "shop/cart[Deployment]", ["egress"]]]);

      const sound = synthesizeSound(graph, observed, options, { acceptDenied: false, minFlows: 1 });
      expect(sound.proof.denied.filter((d) => d.reason === "unselectable" || d.reason === undefined)).toEqual([]);
      const shop = sound.plan.namespaces.find((n) => n.namespace === "shop")!;
      // cart's ingress names legacy by its whole namespace (the narrowest stable superset): only
      // legacy's own egress cannot be selected.
      expect(shop.unisolated?.map((u) => u.direction)).toEqual(["egress"]);
      expect(shop.policies.every((p) => !p.egress)).toBe(true);
      expect(sound.plan.notices.map((n) => n.code)).toContain("left-unisolated");
      const evidence = sound.tree.files.find((f) => f.path === "shop/EVIDENCE.md")!.content;
      expect(evidence).toContain("**Egress is not isolated in this namespace.**");
      expect(evidence).toContain("- `shop/legacy[Deployment] -> shop/cart[Deployment] TCP/7070`");
      // Other namespaces keep their isolation.
      const monitoring = sound.plan.namespaces.find((n) => n.namespace === "monitoring");
      expect(monitoring?.unisolated).toBeUndefined();
    } finally {
      dir.cleanup();
    }
  });

  it("never allows the metadata address or every address by default, and says so", () => {
    const { plan, tree } = run("kubernetes");
    const all = asText(tree.files.filter((f) => f.path.endsWith(".yaml")));
    expect(all).not.toContain("169.254.169.254");
    expect(all).not.toContain("0.0.0.0/0");
    expect(plan.notices.map((n) => n.code)).toContain("metadata-seen");
    expect(plan.notAllowed.map((n) => n.reason).join("\n")).toContain("169.254.169.254");
  });

  it("allows the metadata address when asked", () => {
    const all = asText(run("kubernetes", { allowMetadata: true }).tree.files);
    expect(all).toContain("cidr: 169.254.169.254/32");
  });

  it("widens external addresses to the --cidr-prefix floor and keeps their DNS names beside them", () => {
    const file = run("kubernetes", { cidrPrefixV4: 24 }).tree.files.find((f) =>
      f.path.endsWith("allow-frontend-to-external-egress.yaml"),
    );
    expect(file?.content).toContain("cidr: 93.184.216.0/24 # api.example.com");
    expect(file?.content).not.toContain("93.184.216.34");
  });

  it("puts NodeLocal DNS beside the cluster resolver in the DNS exception, both selectors in one peer", () => {
    const dns = run("kubernetes").tree.files.find((f) => f.path === "shop/allow-dns.yaml")?.content ?? "";
    expect(dns).toContain("cidr: 169.254.20.10/32");
    expect(dns).toMatch(
      /- namespaceSelector:\n\s+matchLabels:\n\s+kubernetes.io\/metadata.name: kube-system\n\s+podSelector:\n\s+matchLabels:\n\s+k8s-app: kube-dns/,
    );
  });

  it("names ICMP as not expressible instead of opening every port", () => {
    const { plan } = run("kubernetes");
    expect(plan.notAllowed.some((n) => n.edge.protocol === "ICMPv4" && /cannot be expressed/.test(n.reason))).toBe(
      true,
    );
  });

  it("keeps drops apart as denied today", () => {
    const graph = graphOf();
    expect(graph.denied.map((e) => `${e.from}>${e.to}:${e.port}`)).toEqual([
      "shop/Deployment/cart>shop/Deployment/frontend:8080",
    ]);
    expect(graph.allowed.some((e) => e.from === "shop/Deployment/cart" && e.to === "shop/Deployment/frontend")).toBe(
      false,
    );
  });

  it("leaves out connections below --min-flows", () => {
    const graph = graphOf({ ...defaultScope(), minFlows: 5 });
    expect(graph.belowMinFlows).toBeGreaterThan(0);
    expect(graph.allowed.every((e) => e.count >= 5)).toBe(true);
  });

  it("generates only for --namespace when given", () => {
    const graph = graphOf({ ...defaultScope(), namespaces: ["monitoring"] });
    expect(graph.namespaces).toEqual(["monitoring"]);
  });
});
