import { describe, expect, it } from "vitest";
import { placeFiles, suffixedName } from "../../src/rollout/classify.js";
import { kustomizationText } from "../../src/rollout/kustomization.js";
import { isManagedFile } from "../../src/rollout/managed.js";
import { type NamespaceFacts, planSteps } from "../../src/rollout/plan.js";
import { fillTemplate } from "../../src/rollout/template.js";

const LABEL = "  labels:\n    app.kubernetes.io/managed-by: flowpol\n";

function np(name: string, ns: string, spec: string): string {
  return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${LABEL}spec:\n${spec}`;
}

describe("placing generated objects in waves", () => {
  it.each([
    [
      "an ingress allow that selects one workload goes to the allow wave",
      np(
        "a",
        "shop",
        "  podSelector:\n    matchLabels:\n      app: cart\n  policyTypes: [Ingress]\n  ingress:\n    - from:\n        - podSelector: {}\n",
      ),
      ["allow"],
    ],
    [
      "an ingress default-deny goes to the namespace's deny-ingress step",
      np("d", "shop", "  podSelector: {}\n  policyTypes: [Ingress]\n"),
      ["deny-ingress"],
    ],
    [
      "a namespace-wide ingress exception isolates the namespace, so it waits for deny-ingress",
      np("x", "shop", "  podSelector: {}\n  ingress:\n    - from:\n        - namespaceSelector: {}\n"),
      ["deny-ingress"],
    ],
    [
      "the DNS egress exception goes to deny-egress",
      np(
        "dns",
        "shop",
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n    - ports:\n        - port: 53\n          protocol: UDP\n",
      ),
      ["deny-egress"],
    ],
    [
      "a policy without policyTypes but with egress rules isolates both directions and is split",
      np("both", "shop", "  podSelector:\n    matchLabels:\n      app: a\n  ingress: []\n  egress: []\n"),
      ["allow", "deny-egress"],
    ],
    [
      "a Calico staged policy goes to observe",
      "apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nmetadata:\n  name: s\n  namespace: shop\nspec:\n  podSelector: {}\n",
      ["observe"],
    ],
    [
      "a Cilium policy with an empty endpointSelector and ingress goes to deny-ingress",
      "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: c\n  namespace: shop\nspec:\n  endpointSelector: {}\n  ingress:\n    - {}\n",
      ["deny-ingress"],
    ],
  ])("%s", (_, text, waves) => {
    const { placed } = placeFiles([{ path: "shop/p.yaml", text }]);
    expect(placed.map((p) => p.wave).sort()).toEqual(waves);
    for (const p of placed) expect(isManagedFile(p.path, p.text)).toBe(true);
  });

  it("holds back a namespace's ingress allows until its namespace-wide ingress exception lands (every wave safe)", () => {
    const allow = (ns: string) =>
      np(
        "allow-a-to-cart",
        ns,
        "  podSelector:\n    matchLabels:\n      app: cart\n  policyTypes: [Ingress]\n  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app: a\n",
      );
    const scraper = np(
      "allow-ingress-from-prometheus",
      "shop",
      "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n    - from:\n        - namespaceSelector: {}\n",
    );
    const { placed } = placeFiles([
      { path: "shop/allow-a-to-cart.yaml", text: allow("shop") },
      { path: "shop/allow-ingress-from-prometheus.yaml", text: scraper },
      { path: "pay/allow-a-to-cart.yaml", text: allow("pay") },
    ]);
    expect(placed.map((p) => `${p.path} ${p.wave}`).sort()).toEqual([
      "pay/allow-a-to-cart.yaml allow",
      "shop/allow-a-to-cart.yaml deny-ingress",
      "shop/allow-ingress-from-prometheus.yaml deny-ingress",
    ]);
    const steps = planSteps(placed, []);
    expect(steps.map((s) => `${s.id} ${s.title}`)).toEqual([
      "1 observe: the report, the plan and non-enforcing policies",
      "2 allow: the observed flows into selected workloads",
      "3.1 deny ingress in shop: ingress allows, default-deny and namespace-wide exceptions",
    ]);
  });

  it("splits a default-deny for both directions into two objects with their own names and files", () => {
    const { placed } = placeFiles([
      {
        path: "shop/default-deny.yaml",
        text: np("default-deny", "shop", "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"),
      },
    ]);
    expect(placed.map((p) => [p.path, p.wave, p.objects[0]!.name])).toEqual([
      ["shop/default-deny-ingress.yaml", "deny-ingress", "default-deny-ingress"],
      ["shop/default-deny-egress.yaml", "deny-egress", "default-deny-egress"],
    ]);
    expect(placed[0]!.text).toContain("policyTypes:\n    - Ingress\n");
    expect(placed[0]!.text).not.toContain("Egress");
  });

  it("keeps the generator's bytes when nothing needs changing", () => {
    const text = np("a", "shop", "  podSelector:\n    matchLabels:\n      app: cart\n  policyTypes: [Ingress]\n");
    expect(placeFiles([{ path: "shop/a.yaml", text }]).placed[0]!.text).toBe(text);
  });

  it("adds the managed-by label when the generator did not", () => {
    const text =
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: a\n  namespace: shop\nspec:\n  podSelector: {}\n";
    expect(placeFiles([{ path: "shop/a.yaml", text }]).placed[0]!.text).toContain(
      "app.kubernetes.io/managed-by: flowpol",
    );
  });

  it.each([
    [
      "a kind it cannot place",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
      /does not know which wave a Secret/,
    ],
    [
      "an object without a name",
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {}\nspec: {}\n",
      /NetworkPolicy without metadata.name/,
    ],
    ["broken YAML", "kind: [\n", /shop\/p.yaml \(document 1\)/],
  ])("rejects %s with the file and document", (_, text, message) => {
    expect(() => placeFiles([{ path: "shop/p.yaml", text }])).toThrow(message);
  });

  it("shortens split names to 63 characters with a hash", () => {
    const name = suffixedName("a".repeat(60), "ingress");
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^a+-[0-9a-f]{8}-ingress$/);
  });
});

describe("ordering the deny steps", () => {
  const files = ["alpha", "beta", "gamma"].flatMap(
    (ns) =>
      placeFiles([
        {
          path: `${ns}/default-deny.yaml`,
          text: np("default-deny", ns, "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"),
        },
      ]).placed,
  );
  const facts = new Map<string, NamespaceFacts>([
    ["alpha", { observedDays: 1, flows: 10, ingressPeers: 1, externalDestinations: 0, callsApiServer: false }],
    ["beta", { observedDays: 7, flows: 10, ingressPeers: 5, externalDestinations: 3, callsApiServer: false }],
    ["gamma", { observedDays: 7, flows: 10, ingressPeers: 2, externalDestinations: 0, callsApiServer: true }],
  ]);

  it.each([
    [
      "best observed, then least risky, for ingress; sensitive first for egress",
      {},
      ["1", "3.1 gamma", "3.2 beta", "3.3 alpha", "4.1 beta", "4.2 gamma", "4.3 alpha"],
    ],
    [
      "as --wave-order says, the rest after",
      { waveOrder: ["alpha"] },
      ["1", "3.1 alpha", "3.2 gamma", "3.3 beta", "4.1 beta", "4.2 gamma", "4.3 alpha"],
    ],
  ])("%s", (_, order, expected) => {
    const steps = planSteps(files, [], { facts, ...order });
    expect(steps.map((s) => `${s.id}${s.namespace ? ` ${s.namespace}` : ""}`)).toEqual(expected);
  });

  it("rejects a --wave-order namespace that has no policies", () => {
    expect(() => planSteps(files, [], { waveOrder: ["delta"] })).toThrow(/--wave-order names delta/);
  });
});

describe("managed files", () => {
  it.each([
    [
      "a YAML file whose every object carries the label",
      "policies/a.yaml",
      `kind: NetworkPolicy\nmetadata:\n  name: a\n${LABEL}`,
      true,
    ],
    [
      "a YAML file with one unlabelled object",
      "policies/a.yaml",
      `kind: NetworkPolicy\nmetadata:\n  name: a\n${LABEL}---\nkind: NetworkPolicy\nmetadata:\n  name: b\n`,
      false,
    ],
    [
      "a kustomization with the label in its labels transformer",
      "p/kustomization.yaml",
      kustomizationText(undefined, ["a.yaml"]),
      true,
    ],
    [
      "a Markdown file with flowpol's marker",
      "p/EVIDENCE.md",
      "<!-- app.kubernetes.io/managed-by: flowpol -->\n# x\n",
      true,
    ],
    ["a hand-written Markdown file", "p/README.md", "# notes\n", false],
    ["a file that is not YAML", "p/a.yaml", "kind: [\n", false],
  ])("%s: %s", (_, path, text, managed) => {
    expect(isManagedFile(path, text)).toBe(managed);
  });
});

describe("the pull request template", () => {
  it("fills placeholders and names the line of an unknown one", () => {
    expect(fillTemplate("# {{ title }}\n{{body}}", { title: "T", body: "B" }, "t.md")).toBe("# T\nB");
    expect(() => fillTemplate("ok\n{{nope}}", { title: "T" }, "t.md")).toThrow("t.md:2: unknown placeholder {{nope}}");
  });
});
