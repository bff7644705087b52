import { describe, expect, it } from "vitest";
import { flowLogPolicies, goldmanePolicies } from "../../src/collect/calico/policies.js";

describe("Calico policy traces as provenance", () => {
  it.each([
    [
      "early EE: all_policies only, 4-part entries",
      { all_policies: ["0|default|policy-demo/default.access-nginx|allow"] },
      ["all|default|CalicoNetworkPolicy:policy-demo/access-nginx|allow|-"],
    ],
    [
      "EE 3.19-2025: all + enforced + pending, 5-part entries (all is dropped when enforced exists)",
      {
        all_policies: ["0|default|default.allow-dns|allow|1", "1|tier2|ns2/staged:tier2.lockdown|deny|-1"],
        enforced_policies: ["0|default|default.allow-dns|allow|1"],
        pending_policies: ["0|tier2|ns2/staged:tier2.lockdown|deny|-1"],
      },
      [
        "enforced|default|GlobalNetworkPolicy:allow-dns|allow|1",
        "pending|tier2|StagedNetworkPolicy:ns2/lockdown|deny|-1",
      ],
    ],
    [
      "EE after Dec 2025: enforced + pending + transit",
      {
        enforced_policies: ["0|__PROFILE__|__PROFILE__.kns.maintenance|allow|0"],
        pending_policies: [],
        transit_policies: ["0|default|default.allow-ssh|allow|0"],
      },
      ["enforced|__PROFILE__|Profile:kns.maintenance|allow|0", "transit|default|GlobalNetworkPolicy:allow-ssh|allow|0"],
    ],
  ])("reads %s", (_what, policies, expected) => {
    expect(flowLogPolicies(policies)).toEqual(expected);
  });

  it.each([
    ["0|default|policy-demo/knp.default.access-nginx|allow|0", "NetworkPolicy:policy-demo/access-nginx"],
    ["0|default|curl-ns/default.staged:curl-ns-vfzgh|deny|0", "StagedNetworkPolicy:curl-ns/curl-ns-vfzgh"],
    ["0|default|curl-ns/staged:default.curl-ns-vfzgh|deny|0", "StagedNetworkPolicy:curl-ns/curl-ns-vfzgh"],
    ["0|default|default.staged:global-lock|deny|0", "StagedGlobalNetworkPolicy:global-lock"],
    ["0|default|prod/staged:knp.default.web|deny|0", "StagedKubernetesNetworkPolicy:prod/web"],
    ["0|allow-tigera|kube-system/allow-tigera.cluster-dns|allow|2", "CalicoNetworkPolicy:kube-system/cluster-dns"],
    ["0|adminnetworkpolicy|kanp.deny-all|deny|0", "AdminNetworkPolicy:deny-all"],
    ["0|baselineadminnetworkpolicy|kbanp.default|allow|0", "BaselineAdminNetworkPolicy:default"],
    ["0|default|np:prod/allow-frontend|allow|0", "CalicoNetworkPolicy:prod/allow-frontend"],
    ["0|default|gnp:allow-dns|allow|3", "GlobalNetworkPolicy:allow-dns"],
    ["0|default|knp:prod/web|allow|0", "NetworkPolicy:prod/web"],
    ["0|default|sknp:prod/web|deny|0", "StagedKubernetesNetworkPolicy:prod/web"],
    ["0|__PROFILE__|pro:kns.default|allow|0", "Profile:kns.default"],
    ["0|default|eot:__NO_MATCH__|deny|-1", "EndOfTier:__NO_MATCH__"],
  ])("names the policy in %s as %s", (entry, ref) => {
    const [hit] = flowLogPolicies({ enforced_policies: [entry] });
    expect(hit?.split("|")[2]).toBe(ref);
  });

  it("skips entries that are not policy traces rather than storing them", () => {
    expect(
      flowLogPolicies({ enforced_policies: ["garbage", "0|t|<script>|allow|0", 7, "0|default|default.ok|allow|0"] }),
    ).toEqual(["enforced|default|GlobalNetworkPolicy:ok|allow|0"]);
    expect(flowLogPolicies(null)).toEqual([]);
  });

  it("gives Goldmane's structured hits (names, numbers, absent zeros) the same strings", () => {
    const json = {
      enforcedPolicies: [
        { kind: "CalicoNetworkPolicy", namespace: "shop", name: "allow-cart", tier: "default", action: "Allow" },
      ],
      pendingPolicies: [
        {
          kind: "EndOfTier",
          tier: "security",
          action: "Deny",
          ruleIndex: "-1",
          trigger: { kind: "GlobalNetworkPolicy", name: "lockdown" },
        },
      ],
    };
    const goJson = {
      enforced_policies: [{ kind: 1, namespace: "shop", name: "allow-cart", tier: "default", action: 1 }],
    };
    const whisker = {
      enforced: [
        {
          kind: "CalicoNetworkPolicy",
          namespace: "shop",
          name: "allow-cart",
          tier: "default",
          action: "Allow",
          policy_index: 0,
          rule_index: 0,
        },
      ],
    };
    expect(goldmanePolicies(json)).toEqual([
      "enforced|default|CalicoNetworkPolicy:shop/allow-cart|allow|0",
      "pending|security|EndOfTier:lockdown|deny|-1",
    ]);
    expect(goldmanePolicies(goJson)).toEqual(["enforced|default|CalicoNetworkPolicy:shop/allow-cart|allow|0"]);
    expect(goldmanePolicies(whisker)).toEqual(["enforced|default|CalicoNetworkPolicy:shop/allow-cart|allow|0"]);
    expect(flowLogPolicies({ enforced_policies: ["0|default|shop/default.allow-cart|allow|0"] })).toEqual(
      goldmanePolicies(json).slice(0, 1),
    );
  });
});
