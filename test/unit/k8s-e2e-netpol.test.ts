import { describe, expect, it } from "vitest";
import type { PolicyProtocol } from "../../src/policy/conn-set.js";
import { type Endpoint, PolicyEngine } from "../../src/policy/engine.js";
import type { NetworkPolicy, Pod } from "../../src/policy/types.js";
import { parseNetworkPolicy } from "../../src/policy/validate.js";

/**
 * The Kubernetes e2e NetworkPolicy suite (../shared/reference/k8s-e2e-netpol-cases.md) as truth
 * tables over the engine with Kubernetes semantics. Pods `<ns>/<a|b|c>` carry `pod=<name>` and one
 * named container port per probe; x pods are 10.0.0.x, y 10.0.1.x, z 10.0.2.x (a=1, b=2, c=3).
 * Expectation: everything allowed, then the listed overrides in order. Self pairs are not probed.
 */
type Raw = Record<string, unknown>;
type Override = ["deny" | "allow", string, string];
interface Probe {
  protocol: PolicyProtocol;
  port: number;
}
interface Case {
  name: string;
  pods: string;
  probes: Probe[];
  policies: Raw[];
  overrides: Record<string, Override[]> | Override[];
}

const IP_OF = { x: "10.0.0", y: "10.0.1", z: "10.0.2" } as const;
const POD_INDEX = { a: 1, b: 2, c: 3 } as const;

function pod(id: string): Pod {
  const [ns, name] = id.split("/") as [keyof typeof IP_OF, keyof typeof POD_INDEX];
  const ports = [80, 81].flatMap((port) =>
    (["TCP", "UDP", "SCTP"] as const).map((protocol) => ({
      name: `serve-${port}-${protocol.toLowerCase()}`,
      containerPort: port,
      protocol,
    })),
  );
  return { namespace: ns, labels: { pod: name }, ips: [`${IP_OF[ns]}.${POD_INDEX[name]}`], ports };
}

const sel = (labels: Record<string, string>) => ({ matchLabels: labels });
const nsIs = (name: string) => sel({ "kubernetes.io/metadata.name": name });
const expr = (key: string, operator: string, values?: string[]) => ({
  matchExpressions: [values ? { key, operator, values } : { key, operator }],
});
const target = (name: string) => sel({ pod: name });

function policy(name: string, podSelector: Raw, spec: Raw, namespace = "x"): Raw {
  const types: string[] = [];
  if ("ingress" in spec) types.push("Ingress");
  if ("egress" in spec) types.push("Egress");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace },
    spec: { podSelector, policyTypes: types, ...spec },
  };
}

const TCP80: Probe[] = [{ protocol: "TCP", port: 80 }];
const TCP81: Probe[] = [{ protocol: "TCP", port: 81 }];
const TCP80_81: Probe[] = [
  { protocol: "TCP", port: 80 },
  { protocol: "TCP", port: 81 },
];
const key = (p: Probe) => `${p.protocol} ${p.port}`;

const CASES: Case[] = [
  {
    name: "1 default-deny-ingress",
    pods: "x/a x/b y/a y/b",
    probes: TCP80,
    policies: [policy("deny", {}, { ingress: [] })],
    overrides: [["deny", "*", "x/*"]],
  },
  {
    name: "2 default-deny-all",
    pods: "x/a x/b y/a",
    probes: TCP80,
    policies: [policy("deny", {}, { ingress: [], egress: [] })],
    overrides: [
      ["deny", "*", "x/*"],
      ["deny", "x/*", "*"],
    ],
  },
  {
    name: "3 allow from pods in the server namespace by podSelector",
    pods: "x/a x/b x/c y/a",
    probes: TCP80,
    policies: [policy("p", target("a"), { ingress: [{ from: [{ podSelector: sel({ pod: "b" }) }] }] })],
    overrides: [
      ["deny", "*", "x/a"],
      ["allow", "x/b", "x/a"],
    ],
  },
  {
    name: "4 allow ingress for a target with podSelector {} and namespaceSelector {}",
    pods: "x/a x/b y/a",
    probes: TCP80,
    policies: [
      policy("deny", {}, { ingress: [] }),
      policy("p", target("a"), { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] }),
    ],
    overrides: [["deny", "*", "x/b"]],
  },
  {
    name: "5 allow ingress from all namespaces",
    pods: "x/a x/b y/a z/a",
    probes: TCP80,
    policies: [policy("p", target("a"), { ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    overrides: [],
  },
  {
    name: "6 allow only from a different namespace",
    pods: "x/a x/b y/a z/a",
    probes: TCP80,
    policies: [policy("p", target("a"), { ingress: [{ from: [{ namespaceSelector: nsIs("y") }] }] })],
    overrides: [
      ["deny", "x/*", "x/a"],
      ["deny", "z/*", "x/a"],
    ],
  },
  {
    name: "7 podSelector with matchExpressions",
    pods: "x/a x/b y/a",
    probes: TCP80,
    policies: [policy("p", target("a"), { ingress: [{ from: [{ podSelector: expr("pod", "In", ["b"]) }] }] })],
    overrides: [
      ["deny", "*", "x/a"],
      ["allow", "x/b", "x/a"],
    ],
  },
  {
    name: "8 namespaceSelector with matchExpressions",
    pods: "x/a x/b y/a z/a",
    probes: TCP80,
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ namespaceSelector: expr("kubernetes.io/metadata.name", "In", ["y"]) }] }],
      }),
    ],
    overrides: [
      ["deny", "x/*", "x/a"],
      ["deny", "z/*", "x/a"],
    ],
  },
  {
    name: "9 podSelector OR namespaceSelector",
    pods: "x/a x/b x/c y/a",
    probes: TCP80,
    policies: [
      policy("p", target("a"), {
        ingress: [
          {
            from: [
              { namespaceSelector: expr("kubernetes.io/metadata.name", "NotIn", ["x"]) },
              { podSelector: sel({ pod: "b" }) },
            ],
          },
        ],
      }),
    ],
    overrides: [["deny", "x/c", "x/a"]],
  },
  {
    name: "10 podSelector AND namespaceSelector",
    pods: "x/a x/b y/a y/b z/b",
    probes: TCP80,
    policies: [
      policy("p", target("a"), {
        ingress: [
          {
            from: [
              {
                namespaceSelector: expr("kubernetes.io/metadata.name", "NotIn", ["x"]),
                podSelector: sel({ pod: "b" }),
              },
            ],
          },
        ],
      }),
    ],
    overrides: [
      ["deny", "*", "x/a"],
      ["allow", "y/b", "x/a"],
      ["allow", "z/b", "x/a"],
    ],
  },
  {
    name: "11 multiple podSelectors and namespaceSelectors",
    pods: "x/a x/b y/a y/b y/c",
    probes: TCP80,
    policies: [
      policy("p", target("a"), {
        ingress: [
          {
            from: [
              {
                namespaceSelector: expr("kubernetes.io/metadata.name", "NotIn", ["x"]),
                podSelector: expr("pod", "In", ["b", "c"]),
              },
            ],
          },
        ],
      }),
    ],
    overrides: [
      ["deny", "x/*", "x/a"],
      ["deny", "y/a", "x/a"],
    ],
  },
  {
    name: "12 any of several podSelectors",
    pods: "x/a x/b x/c",
    probes: TCP80,
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ podSelector: sel({ pod: "b" }) }, { podSelector: sel({ pod: "c" }) }] }],
      }),
    ],
    overrides: [
      ["deny", "*", "x/a"],
      ["allow", "x/b", "x/a"],
      ["allow", "x/c", "x/a"],
    ],
  },
  {
    name: "13 a pod in another namespace by podSelector and namespaceSelector",
    pods: "x/a x/b y/a y/b z/a",
    probes: TCP80,
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y"), podSelector: sel({ pod: "a" }) }] }],
      }),
    ],
    overrides: [
      ["deny", "*", "x/a"],
      ["allow", "y/a", "x/a"],
    ],
  },
  {
    name: "14 based on ports",
    pods: "x/a x/b y/a y/b z/a",
    probes: TCP81,
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y") }], ports: [{ port: 81, protocol: "TCP" }] }],
      }),
    ],
    overrides: [
      ["deny", "x/*", "x/a"],
      ["deny", "z/*", "x/a"],
    ],
  },
  {
    name: "15 step 1: stacked policies, only port 81 allowed so far",
    pods: "x/a x/b y/a y/b z/a",
    probes: TCP80_81,
    policies: [
      policy("p81", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y") }], ports: [{ port: 81, protocol: "TCP" }] }],
      }),
    ],
    overrides: {
      "TCP 81": [
        ["deny", "x/*", "x/a"],
        ["deny", "z/*", "x/a"],
      ],
      "TCP 80": [["deny", "*", "x/a"]],
    },
  },
  {
    name: "15 step 2: stacked policies with overlapping podSelectors add up",
    pods: "x/a x/b y/a y/b z/a",
    probes: TCP80_81,
    policies: [
      policy("p81", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y") }], ports: [{ port: 81, protocol: "TCP" }] }],
      }),
      policy("p80", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y") }], ports: [{ port: 80, protocol: "TCP" }] }],
      }),
    ],
    overrides: [
      ["deny", "x/*", "x/a"],
      ["deny", "z/*", "x/a"],
    ],
  },
  {
    name: "16 allow-all ingress [{}]",
    pods: "x/a x/b y/a",
    probes: TCP80_81,
    policies: [policy("all", {}, { ingress: [{}] })],
    overrides: [],
  },
  {
    name: "17 ingress on one named port",
    pods: "x/a x/b y/a",
    probes: TCP80_81,
    policies: [policy("p", {}, { ingress: [{ ports: [{ port: "serve-81-tcp" }] }] })],
    overrides: { "TCP 81": [], "TCP 80": [["deny", "*", "x/*"]] },
  },
  {
    name: "18 ingress from a namespace on one named port",
    pods: "x/a x/b y/a z/a",
    probes: TCP80_81,
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y") }], ports: [{ port: "serve-80-tcp", protocol: "TCP" }] }],
      }),
    ],
    overrides: {
      "TCP 80": [
        ["deny", "x/*", "x/a"],
        ["deny", "z/*", "x/a"],
      ],
      "TCP 81": [["deny", "*", "x/a"]],
    },
  },
  {
    name: "19 egress on one named port",
    pods: "x/a y/a",
    probes: TCP80_81,
    policies: [policy("p", {}, { egress: [{ ports: [{ port: "serve-80-tcp" }] }] })],
    overrides: { "TCP 80": [], "TCP 81": [["deny", "x/*", "*"]] },
  },
  {
    name: "20 updated policy (allow-all replaced by ingress [])",
    pods: "x/a y/a",
    probes: TCP81,
    policies: [policy("p", {}, { ingress: [] })],
    overrides: [["deny", "*", "x/*"]],
  },
  {
    name: "21 before: ingress from a namespace label nobody has",
    pods: "x/a y/a",
    probes: TCP80,
    policies: [policy("p", target("a"), { ingress: [{ from: [{ namespaceSelector: sel({ ns2: "updated" }) }] }] })],
    overrides: [["deny", "*", "x/a"]],
  },
  {
    name: "22 before: ingress from a pod with two labels nobody has",
    pods: "x/a x/b",
    probes: TCP80,
    policies: [
      policy("p", target("a"), { ingress: [{ from: [{ podSelector: sel({ pod: "b", pod2: "updated" }) }] }] }),
    ],
    overrides: [["deny", "*", "x/a"]],
  },
  {
    name: "23 deny ingress from other namespaces",
    pods: "x/a x/b y/a z/a",
    probes: TCP80,
    policies: [policy("p", {}, { ingress: [{ from: [{ podSelector: {} }] }] })],
    overrides: [
      ["deny", "y/*", "x/*"],
      ["deny", "z/*", "x/*"],
    ],
  },
  {
    name: "24 before: a policy on a label no pod has yet isolates nothing",
    pods: "x/a y/a",
    probes: TCP80,
    policies: [policy("p", sel({ target: "isolated" }), { ingress: [] })],
    overrides: [],
  },
  {
    name: "25 deny egress by podSelector",
    pods: "x/a x/b y/a",
    probes: TCP80,
    policies: [policy("p", target("a"), { egress: [] })],
    overrides: [["deny", "x/a", "*"]],
  },
  {
    name: "26 deny egress from all pods in a namespace",
    pods: "x/a x/b y/a",
    probes: TCP80,
    policies: [policy("p", {}, { egress: [] })],
    overrides: [["deny", "x/*", "*"]],
  },
  {
    name: "27 ingress and egress together",
    pods: "x/a x/b x/c y/a",
    probes: TCP80_81,
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ podSelector: sel({ pod: "b" }) }] }],
        egress: [{ ports: [{ port: 80 }] }],
      }),
    ],
    overrides: {
      "TCP 80": [
        ["deny", "*", "x/a"],
        ["allow", "x/b", "x/a"],
      ],
      "TCP 81": [
        ["deny", "*", "x/a"],
        ["allow", "x/b", "x/a"],
        ["deny", "x/a", "*"],
      ],
    },
  },
  {
    name: "28 client-side egress deny wins over a server allow",
    pods: "x/a y/a y/b",
    probes: TCP80,
    policies: [
      policy("egress", target("a"), {
        egress: [{ to: [{ namespaceSelector: nsIs("y"), podSelector: sel({ pod: "a" }) }] }],
      }),
      policy(
        "in-a",
        target("a"),
        { ingress: [{ from: [{ namespaceSelector: nsIs("x"), podSelector: sel({ pod: "a" }) }] }] },
        "y",
      ),
      policy(
        "in-b",
        target("b"),
        { ingress: [{ from: [{ namespaceSelector: nsIs("x"), podSelector: sel({ pod: "a" }) }] }] },
        "y",
      ),
    ],
    overrides: [
      ["deny", "x/a", "*"],
      ["deny", "*", "y/a"],
      ["deny", "*", "y/b"],
      ["allow", "x/a", "y/a"],
    ],
  },
  {
    name: "29 egress to another namespace by podSelector and namespaceSelector",
    pods: "x/a y/a y/b",
    probes: TCP80,
    policies: [
      policy("p", target("a"), {
        egress: [{ to: [{ namespaceSelector: nsIs("y"), podSelector: sel({ pod: "a" }) }] }],
      }),
    ],
    overrides: [
      ["deny", "x/a", "*"],
      ["allow", "x/a", "y/a"],
    ],
  },
  {
    name: "30 any port on a specific protocol",
    pods: "x/a y/a",
    probes: [
      { protocol: "TCP", port: 80 },
      { protocol: "UDP", port: 80 },
    ],
    policies: [policy("p", target("a"), { ingress: [{ ports: [{ protocol: "TCP" }] }] })],
    overrides: { "TCP 80": [], "UDP 80": [["deny", "*", "x/a"]] },
  },
  {
    name: "31 before: one ingress policy on port 80 only",
    pods: "x/a y/a",
    probes: TCP81,
    policies: [policy("p80", {}, { ingress: [{ ports: [{ port: 80 }] }] })],
    overrides: [["deny", "*", "x/*"]],
  },
  {
    name: "31 after: a second ingress policy allowing all wins",
    pods: "x/a y/a",
    probes: TCP81,
    policies: [policy("p80", {}, { ingress: [{ ports: [{ port: 80 }] }] }), policy("all", {}, { ingress: [{}] })],
    overrides: [],
  },
  {
    name: "32 before: one egress policy on port 80 only",
    pods: "x/a y/a",
    probes: TCP81,
    policies: [policy("p80", {}, { egress: [{ ports: [{ port: 80 }] }] })],
    overrides: [["deny", "x/*", "*"]],
  },
  {
    name: "32 after: a second egress policy allowing all wins",
    pods: "x/a y/a",
    probes: TCP81,
    policies: [policy("p80", {}, { egress: [{ ports: [{ port: 80 }] }] }), policy("all", {}, { egress: [{}] })],
    overrides: [],
  },
  {
    name: "33 before: deny all in and out of x",
    pods: "x/a y/a",
    probes: TCP80,
    policies: [policy("p", {}, { ingress: [], egress: [] })],
    overrides: [
      ["deny", "*", "x/*"],
      ["deny", "x/*", "*"],
    ],
  },
  { name: "33 after: all policies deleted", pods: "x/a y/a", probes: TCP80, policies: [], overrides: [] },
  {
    name: "34 egress to a server in a CIDR block (ipBlock matches a pod IP)",
    pods: "x/a y/a y/b",
    probes: TCP80,
    policies: [policy("p", target("a"), { egress: [{ to: [{ ipBlock: { cidr: "10.0.1.2/32" } }] }] })],
    overrides: [
      ["deny", "x/a", "*"],
      ["allow", "x/a", "y/b"],
    ],
  },
  {
    name: "35 except clause on an egress CIDR",
    pods: "x/a x/b x/c",
    probes: TCP80,
    policies: [
      policy("p", target("a"), { egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.0.2/32"] } }] }] }),
    ],
    overrides: [["deny", "x/a", "x/b"]],
  },
  {
    name: "36 step 2: the same policy updated to the excepted IP only",
    pods: "x/a x/b x/c",
    probes: TCP80,
    policies: [policy("p", target("a"), { egress: [{ to: [{ ipBlock: { cidr: "10.0.0.2/32" } }] }] })],
    overrides: [
      ["deny", "x/a", "*"],
      ["allow", "x/a", "x/b"],
    ],
  },
  {
    name: "37 step 1: egress [{}] alone changes nothing",
    pods: "x/a x/b y/a",
    probes: TCP80,
    policies: [policy("e", target("a"), { egress: [{}] })],
    overrides: [],
  },
  {
    name: "37 step 2: ingress and egress are controlled independently",
    pods: "x/a x/b y/a",
    probes: TCP80,
    policies: [policy("e", target("a"), { egress: [{}] }), policy("i", target("a"), { ingress: [] })],
    overrides: [["deny", "*", "x/a"]],
  },
  {
    name: "38 SCTP is not TCP",
    pods: "x/a y/a",
    probes: TCP81,
    policies: [
      policy("deny", {}, { ingress: [] }),
      policy("sctp", target("a"), { ingress: [{ ports: [{ port: 81, protocol: "SCTP" }] }] }),
    ],
    overrides: [["deny", "*", "x/*"]],
  },
  {
    name: "39 an SCTP-only policy isolates",
    pods: "x/a y/a",
    probes: TCP81,
    policies: [policy("sctp", target("a"), { ingress: [{ ports: [{ port: 80, protocol: "SCTP" }] }] })],
    overrides: [["deny", "*", "x/a"]],
  },
  {
    name: "40 a UDP-only policy does not allow TCP",
    pods: "x/a y/a",
    probes: TCP81,
    policies: [policy("udp", target("a"), { ingress: [{ ports: [{ port: 81, protocol: "UDP" }] }] })],
    overrides: [["deny", "*", "x/a"]],
  },
  {
    name: "41 namespaceSelector matchLabels on the automatic namespace label",
    pods: "x/a x/b y/a z/a",
    probes: TCP80,
    policies: [policy("p", target("a"), { ingress: [{ from: [{ namespaceSelector: nsIs("y") }] }] })],
    overrides: [
      ["deny", "x/*", "x/a"],
      ["deny", "z/*", "x/a"],
    ],
  },
  {
    name: "42 namespaceSelector matchExpressions on egress",
    pods: "x/a x/b y/a z/a",
    probes: TCP80,
    policies: [
      policy("p", target("a"), {
        egress: [{ to: [{ namespaceSelector: expr("kubernetes.io/metadata.name", "NotIn", ["y"]) }] }],
      }),
    ],
    overrides: [["deny", "x/a", "y/*"]],
  },
  {
    name: "43 UDP default-deny-ingress",
    pods: "x/a x/b y/a y/b",
    probes: [{ protocol: "UDP", port: 80 }],
    policies: [policy("deny", {}, { ingress: [] })],
    overrides: [["deny", "*", "x/*"]],
  },
  {
    name: "44 UDP based on ports",
    pods: "x/a x/b y/a z/a",
    probes: [{ protocol: "UDP", port: 81 }],
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y") }], ports: [{ port: 81, protocol: "UDP" }] }],
      }),
    ],
    overrides: [
      ["deny", "x/*", "x/a"],
      ["deny", "z/*", "x/a"],
    ],
  },
  {
    name: "45 UDP pod in another namespace by podSelector and namespaceSelector",
    pods: "x/a x/b y/a",
    probes: [{ protocol: "UDP", port: 80 }],
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y"), podSelector: sel({ pod: "a" }) }] }],
      }),
    ],
    overrides: [
      ["deny", "*", "x/a"],
      ["allow", "y/a", "x/a"],
    ],
  },
  {
    name: "46 SCTP default-deny-ingress",
    pods: "x/a x/b y/a y/b",
    probes: [{ protocol: "SCTP", port: 80 }],
    policies: [policy("deny", {}, { ingress: [] })],
    overrides: [["deny", "*", "x/*"]],
  },
  {
    name: "47 SCTP based on ports",
    pods: "x/a x/b y/a z/a",
    probes: [{ protocol: "SCTP", port: 81 }],
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y") }], ports: [{ port: 81, protocol: "SCTP" }] }],
      }),
    ],
    overrides: [
      ["deny", "x/*", "x/a"],
      ["deny", "z/*", "x/a"],
    ],
  },
  {
    name: "48 SCTP pod in another namespace by podSelector and namespaceSelector",
    pods: "x/a x/b y/a",
    probes: [{ protocol: "SCTP", port: 80 }],
    policies: [
      policy("p", target("a"), {
        ingress: [{ from: [{ namespaceSelector: nsIs("y"), podSelector: sel({ pod: "a" }) }] }],
      }),
    ],
    overrides: [
      ["deny", "*", "x/a"],
      ["allow", "y/a", "x/a"],
    ],
  },
];

function matches(pattern: string, id: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("/*")) return id.startsWith(pattern.slice(0, -1));
  return pattern === id;
}

function expectedMatrix(ids: string[], overrides: Override[]): string[] {
  const lines: string[] = [];
  for (const src of ids) {
    for (const dst of ids) {
      if (src === dst) continue;
      let allowed = true;
      for (const [verdict, s, d] of overrides) if (matches(s, src) && matches(d, dst)) allowed = verdict === "allow";
      lines.push(`${src} -> ${dst}: ${allowed ? "allowed" : "denied"}`);
    }
  }
  return lines;
}

function actualMatrix(ids: string[], policies: NetworkPolicy[], probe: Probe): string[] {
  const engine = new PolicyEngine(policies, [], { semantics: "kubernetes" });
  const pods = new Map(ids.map((id): [string, Endpoint] => [id, { kind: "pod", pod: pod(id) }]));
  const lines: string[] = [];
  for (const src of ids) {
    for (const dst of ids) {
      if (src === dst) continue;
      const verdict = engine.decide(pods.get(src)!, pods.get(dst)!, probe.protocol, probe.port);
      const viaSets = engine.allowed(pods.get(src)!, pods.get(dst)!).has(probe.protocol, probe.port);
      expect(viaSets, `decide() and allowed() agree on ${src} -> ${dst}`).toBe(verdict.allowed);
      lines.push(`${src} -> ${dst}: ${verdict.allowed ? "allowed" : "denied"}`);
    }
  }
  return lines;
}

describe("Kubernetes e2e NetworkPolicy truth tables", () => {
  const rows = CASES.flatMap((c) => c.probes.map((p) => [`#${c.name} (${key(p)})`, c, p] as const));
  it.each(rows)("%s", (_name, c, probe) => {
    const policies = c.policies.map((raw) => {
      const { policy, issues } = parseNetworkPolicy(raw);
      expect(issues).toEqual([]);
      return policy!;
    });
    const ids = c.pods.split(" ");
    const overrides = Array.isArray(c.overrides) ? c.overrides : (c.overrides[key(probe)] ?? []);
    expect(actualMatrix(ids, policies, probe)).toEqual(expectedMatrix(ids, overrides));
  });

  it("matches ipBlocks against pod IPs only with Kubernetes semantics, never with the analyzer's", () => {
    const raw = policy("p", target("a"), { egress: [{ to: [{ ipBlock: { cidr: "10.0.1.2/32" } }] }] });
    const policies = [parseNetworkPolicy(raw).policy!];
    const src: Endpoint = { kind: "pod", pod: pod("x/a") };
    const dst: Endpoint = { kind: "pod", pod: pod("y/b") };
    expect(new PolicyEngine(policies, [], { semantics: "kubernetes" }).decide(src, dst, "TCP", 80).allowed).toBe(true);
    expect(new PolicyEngine(policies, [], { semantics: "analyzer" }).decide(src, dst, "TCP", 80).allowed).toBe(false);
  });
});
