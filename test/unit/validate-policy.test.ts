import { describe, expect, it } from "vitest";
import { parseNetworkPolicy } from "../../src/policy/validate.js";

function np(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: "p", namespace: "x" }) {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata, spec: { podSelector: {}, ...spec } };
}
const from = (peer: unknown, ports?: unknown) => ({ ingress: [{ from: [peer], ...(ports ? { ports } : {}) }] });

describe("NetworkPolicy validation, as the API server would reject", () => {
  it.each([
    [
      "a bad CIDR",
      from({ ipBlock: { cidr: "A" } }),
      "spec.ingress[0].from[0].ipBlock.cidr",
      "CIDR error: invalid CIDR address",
    ],
    [
      "an except outside its CIDR",
      from({ ipBlock: { cidr: "10.0.0.0/8", except: ["11.0.0.0/16"] } }),
      "spec.ingress[0].from[0].ipBlock.except[0]",
      "strict subsets",
    ],
    [
      "an except equal to its CIDR",
      from({ ipBlock: { cidr: "10.0.0.0/8", except: ["10.0.0.0/8"] } }),
      "spec.ingress[0].from[0].ipBlock.except[0]",
      "strict subsets",
    ],
    [
      "an ipBlock and a selector in one peer",
      from({ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }),
      "spec.ingress[0].from[0]",
      "cannot have both",
    ],
    ["an empty peer", from({}), "spec.ingress[0].from[0]", "cannot have empty rule peer"],
    [
      "a bad label key",
      from({ podSelector: { matchLabels: { "app@b": "x" } } }),
      "spec.ingress[0].from[0].podSelector.matchLabels",
      "selector error: key",
    ],
    [
      "a bad label value",
      from({ podSelector: { matchLabels: { app: "$x" } } }),
      "spec.ingress[0].from[0].podSelector.matchLabels.app",
      "selector error: value",
    ],
    [
      "a number as label value",
      from({ podSelector: { matchLabels: { v: 1 } } }),
      "spec.ingress[0].from[0].podSelector.matchLabels.v",
      "must be a string",
    ],
    [
      "In without values",
      from({ podSelector: { matchExpressions: [{ key: "a", operator: "In" }] } }),
      "spec.ingress[0].from[0].podSelector.matchExpressions[0].values",
      "needs values",
    ],
    [
      "Exists with values",
      from({ podSelector: { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] } }),
      "spec.ingress[0].from[0].podSelector.matchExpressions[0].values",
      "takes no values",
    ],
    [
      "an unknown operator",
      from({ podSelector: { matchExpressions: [{ key: "a", operator: "Equals" }] } }),
      "spec.ingress[0].from[0].podSelector.matchExpressions[0].operator",
      "is not In, NotIn",
    ],
    [
      "endPort with a named port",
      from({ podSelector: {} }, [{ port: "http", endPort: 90 }]),
      "spec.ingress[0].ports[0].endPort",
      "named (string) port",
    ],
    [
      "endPort below port",
      from({ podSelector: {} }, [{ port: 10, endPort: 1 }]),
      "spec.ingress[0].ports[0].endPort",
      "port range 10-1 is not legal",
    ],
    [
      "endPort without port",
      from({ podSelector: {} }, [{ endPort: 1 }]),
      "spec.ingress[0].ports[0].endPort",
      "port field is not defined",
    ],
    ["port 0", from({ podSelector: {} }, [{ port: 0 }]), "spec.ingress[0].ports[0].port", "1-65535"],
    [
      "a numeric string port",
      from({ podSelector: {} }, [{ port: "80" }]),
      "spec.ingress[0].ports[0].port",
      "neither a port number nor a valid port name",
    ],
    [
      "an unknown protocol",
      from({ podSelector: {} }, [{ port: 80, protocol: "ICMP" }]),
      "spec.ingress[0].ports[0].protocol",
      "use TCP, UDP or SCTP",
    ],
    ["an unknown policy type", { policyTypes: ["Both"] }, "spec.policyTypes[0]", "use Ingress or Egress"],
    ["ingress that is not a list", { ingress: { from: [] } }, "spec.ingress", "must be a list"],
  ])("rejects %s", (_name, spec, path, message) => {
    const { policy, issues } = parseNetworkPolicy(np(spec));
    expect(policy).toBeUndefined();
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)!.message).toContain(message);
  });

  it.each([
    ["a missing name", { namespace: "x" }, "metadata.name"],
    ["an upper-case name", { name: "Bad", namespace: "x" }, "metadata.name"],
    ["a bad namespace", { name: "p", namespace: "x_y" }, "metadata.namespace"],
  ])("rejects %s", (_name, metadata, path) => {
    expect(parseNetworkPolicy(np({}, metadata)).issues.map((i) => i.path)).toEqual([path]);
  });

  it("accepts IPv6 ipBlocks with excepts, endPort ranges, SCTP and named ports", () => {
    const { policy, issues } = parseNetworkPolicy(
      np({
        egress: [
          {
            to: [{ ipBlock: { cidr: "fd00::/48", except: ["fd00:0:0:1::/64"] } }],
            ports: [
              { port: 32000, endPort: 32768, protocol: "TCP" },
              { port: 9, protocol: "SCTP" },
            ],
          },
          { ports: [{ port: "dns", protocol: "UDP" }] },
        ],
      }),
    );
    expect(issues).toEqual([]);
    expect(policy!.egress![0]!.ports![0]).toEqual({ port: 32000, endPort: 32768, protocol: "TCP" });
  });

  it("puts a policy without a namespace in default", () => {
    expect(parseNetworkPolicy(np({}, { name: "p" })).policy!.namespace).toBe("default");
  });
});
