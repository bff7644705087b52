import { describe, expect, it } from "vitest";
import { analyze } from "../../src/report/findings.js";
import type { StoreEdge, StoreEndpoint, StoreSnapshot } from "../../src/store/read-report.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 8, 0, 0);

function workload(
  id: number,
  namespace: string,
  name: string,
  kind = "Deployment",
  pods = 2,
  span = 3 * DAY,
): StoreEndpoint {
  return {
    id,
    type: "workload",
    namespace,
    kind,
    name,
    ip: "",
    firstSeen: T0,
    lastSeen: T0 + span,
    flows: 10,
    pods,
    dnsNames: [],
  };
}

function edge(
  src: number,
  dst: number,
  port: number,
  verdict = "forwarded",
  extra: Partial<StoreEdge> = {},
): StoreEdge {
  return {
    src,
    dst,
    protocol: "TCP",
    port,
    verdict,
    sourceSystem: "hubble",
    count: 5,
    firstSeen: T0,
    lastSeen: T0 + DAY,
    dropReason: "",
    policies: [],
    ...extra,
  };
}

const snapshot: StoreSnapshot = {
  endpoints: [
    workload(1, "a", "web"),
    workload(2, "b", "api"),
    workload(3, "c", "worker"),
    workload(4, "kube-system", "coredns"),
    workload(5, "a", "backup", "CronJob", 1, 2 * 3_600_000),
    { ...workload(6, "", ""), type: "external", ip: "54.1.2.3", dnsNames: ["api.stripe.com"] },
    { ...workload(7, "", ""), type: "external", ip: "169.254.169.254" },
  ],
  edges: [
    edge(1, 4, 53),
    edge(2, 4, 53),
    edge(3, 4, 53),
    edge(1, 6, 443),
    edge(2, 7, 80),
    edge(3, 1, 8080, "dropped", { dropReason: "POLICY_DENIED" }),
    edge(2, 1, 8080, "audit", { policies: ["default/allow-x"] }),
  ],
  gaps: [
    {
      sourceSystem: "hubble",
      kind: "lost_events",
      node: "n1",
      detail: "HUBBLE_RING_BUFFER",
      count: 40,
      firstSeen: T0,
      lastSeen: T0,
    },
    {
      sourceSystem: "hubble",
      kind: "node_unavailable",
      node: "n2",
      detail: "unavailable at start",
      count: 0,
      firstSeen: T0,
      lastSeen: T0,
    },
  ],
  sources: [{ system: "hubble", ingests: 1, flows: 100, badLines: 0 }],
  services: [],
};

describe("discovery findings", () => {
  const f = analyze(snapshot, { minJobRuns: 3, shared: [] });

  it.each([
    [
      "the window spans the first to the last flow",
      () => f.window,
      { since: T0, until: T0 + 3 * DAY, spanMs: 3 * DAY, calendarDays: 4 },
    ],
    ["lost events add up from the gaps", () => f.lostEvents, 40],
    ["unavailable nodes come from the gaps", () => f.unavailableNodes, ["n2"]],
    ["a workload seen within one UTC day is flagged", () => f.oneDayWorkloads.map((w) => w.name), ["backup"]],
    [
      "a CronJob seen in fewer runs than asked is flagged",
      () => f.rareJobs.map((w) => `${w.kind}/${w.name}:${w.pods}`),
      ["CronJob/backup:1"],
    ],
    [
      "external destinations carry their DNS names",
      () => f.externalDestinations.map((x) => `${x.ip} ${x.dnsNames.join(",")}`),
      ["169.254.169.254 ", "54.1.2.3 api.stripe.com"],
    ],
    [
      "the cloud metadata caller is named",
      () => f.metadataCalls.map((m) => `${m.caller} ${m.ip}:${m.port}`),
      ["b/api 169.254.169.254:80"],
    ],
    [
      "dropped and audited flows are listed with reason and policies",
      () => f.droppedOrAudited.map((d) => `${d.verdict} ${d.src}->${d.dst} ${d.dropReason} ${d.policies.join(",")}`),
      ["dropped c/worker->a/web POLICY_DENIED ", "audit b/api->a/web  default/allow-x"],
    ],
  ])("%s", (_, actual, expected) => {
    expect(actual()).toEqual(expected);
  });

  it("orders deny steps with facts: ingress peers and external destinations per namespace", () => {
    expect(f.namespaceFacts.get("a")).toMatchObject({ ingressPeers: 1, externalDestinations: 1 });
    expect(f.namespaceFacts.get("kube-system")).toMatchObject({ ingressPeers: 3 });
  });
});
