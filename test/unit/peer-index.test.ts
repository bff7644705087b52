import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Endpoint, ipEndpoint, PolicyEngine } from "../../src/policy/engine.js";
import type { NetworkPolicy } from "../../src/policy/types.js";
import { parseNetworkPolicy } from "../../src/policy/validate.js";

/**
 * A rule with more than 16 peers finds an address's ipBlocks through an index (`PeerIndex`); a
 * rule with fewer tries its peers one by one. The same peers, one rule or spread over rules of at
 * most 4, must judge every address alike.
 */
type Peer = { ipBlock: { cidr: string; except?: string[] } } | { podSelector: { matchLabels: Record<string, string> } };

const octet = fc.integer({ min: 0, max: 3 });
const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.map((x) => [10, 11, 200, 255][x]).join("."));
const v6 = fc.constantFrom("fd00::", "fd00::1", "2001:db8::", "2001:db8::ff");
const block = fc.oneof(
  fc.tuple(v4, fc.constantFrom(8, 16, 24, 30, 32)).map(([ip, p]) => `${ip}/${p}`),
  fc.tuple(v6, fc.constantFrom(32, 64, 127, 128)).map(([ip, p]) => `${ip}/${p}`),
);
const peer: fc.Arbitrary<Peer> = fc.oneof(
  { weight: 6, arbitrary: block.map((cidr) => ({ ipBlock: { cidr } })) },
  // An except strictly inside its block, as the API server requires.
  {
    weight: 2,
    arbitrary: v4.map((ip) => ({
      ipBlock: { cidr: `${ip.split(".")[0]}.0.0.0/8`, except: [`${ip}/32`] },
    })),
  },
  { weight: 1, arbitrary: fc.constant({ podSelector: { matchLabels: { app: "x" } } }) },
);

function egressPolicy(name: string, rules: Peer[][]): NetworkPolicy {
  const { policy, issues } = parseNetworkPolicy({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: "shop" },
    spec: { podSelector: {}, policyTypes: ["Egress"], egress: rules.map((to) => ({ to })) },
  });
  expect(issues).toEqual([]);
  return policy as NetworkPolicy;
}

const src: Endpoint = { kind: "pod", pod: { namespace: "shop", labels: { app: "frontend" } } };

describe("a rule of many peers", () => {
  it("judges every address as the same peers spread over rules of few", () => {
    fc.assert(
      fc.property(
        fc.array(peer, { minLength: 17, maxLength: 60 }),
        fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (peers, addresses, world) => {
          const one = new PolicyEngine([egressPolicy("one", [peers])]);
          const chunks: Peer[][] = [];
          for (let i = 0; i < peers.length; i += 4) chunks.push(peers.slice(i, i + 4));
          const spread = new PolicyEngine([egressPolicy("spread", chunks)]);
          for (const ip of addresses) {
            const address = ipEndpoint(ip);
            if (address?.kind !== "ip") throw new Error(`not an address: ${ip}`);
            const dst: Endpoint = world ? { ...address, entity: "world" } : address;
            const verdict = one.decide(src, dst, "TCP", 443).allowed;
            expect(verdict, ip).toBe(spread.decide(src, dst, "TCP", 443).allowed);
            expect(one.allowed(src, dst).has("TCP", 443), ip).toBe(verdict);
          }
        },
      ),
      { numRuns: 400, seed: 15 },
    );
  });
});
