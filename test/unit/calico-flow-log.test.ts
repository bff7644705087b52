import { describe, expect, it } from "vitest";
import { calicoRecordFromJson } from "../../src/collect/calico/flow-log.js";
import type { Flow } from "../../src/model/flow.js";

/** A level-2 (EE default for allowed flows) record between two pods; tests override fields. */
function record(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    start_time: 1764970800,
    end_time: 1764971100,
    source_ip: null,
    source_name: "-",
    source_name_aggr: "frontend-755cdc7957-*",
    source_namespace: "shop",
    source_port: null,
    source_type: "wep",
    source_labels: { labels: ["app=frontend", "pod-template-hash=755cdc7957"] },
    dest_ip: null,
    dest_name: "-",
    dest_name_aggr: "cart-5d8f9c7b6d-*",
    dest_namespace: "shop",
    dest_port: 7070,
    dest_type: "wep",
    dest_labels: { labels: ["app=cart", "pod-template-hash=5d8f9c7b6d"] },
    dest_service_namespace: "shop",
    dest_service_name: "cart",
    dest_service_port: "grpc",
    dest_service_port_num: 7070,
    dest_domains: null,
    proto: "tcp",
    action: "allow",
    reporter: "src",
    policies: { enforced_policies: ["0|__PROFILE__|__PROFILE__.kns.shop|allow|0"], pending_policies: [] },
    num_flows: 3,
    num_flows_started: 2,
    num_flows_completed: 2,
    ...overrides,
  };
}

function flowOf(overrides: Record<string, unknown> = {}): Flow {
  const r = calicoRecordFromJson(record(overrides));
  if (r.kind !== "flow") throw new Error(`expected a flow, got ${JSON.stringify(r)}`);
  return r.flow;
}

describe("Calico flow-log records", () => {
  it("reads a pod-to-pod record at the pod-prefix level as a connection between stable workloads", () => {
    const flow = flowOf();
    expect(flow).toMatchObject({
      time: 1764970800000,
      verdict: "forwarded",
      isReply: false,
      protocol: "TCP",
      destinationPort: 7070,
      sourceSystem: "calico",
      count: 3,
      reporter: "src",
      direction: "egress",
      policies: ["enforced|__PROFILE__|Profile:kns.shop|allow|0"],
    });
    expect(flow.source).toMatchObject({
      namespace: "shop",
      workload: { kind: "Deployment", name: "frontend" },
      labels: { app: "frontend", "pod-template-hash": "755cdc7957" },
    });
    expect(flow.source.podName).toBeUndefined();
    expect(flow.destination.workload).toEqual({ kind: "Deployment", name: "cart" });
    expect(flow.destination.service).toEqual({ namespace: "shop", name: "cart" });
  });

  it.each([
    [
      "a Deployment before a rollout",
      "frontend-755cdc7957-*",
      ["pod-template-hash=755cdc7957"],
      "Deployment",
      "frontend",
    ],
    [
      "the same Deployment after a rollout",
      "frontend-6b8f7d9c4-*",
      ["pod-template-hash=6b8f7d9c4"],
      "Deployment",
      "frontend",
    ],
    [
      "a StatefulSet (controller-revision-hash, no pod-template-generation)",
      "redis-cart-*",
      ["controller-revision-hash=redis-cart-6d5f8b7c9"],
      "StatefulSet",
      "redis-cart",
    ],
    [
      "a DaemonSet",
      "fluentd-node-*",
      ["controller-revision-hash=7b9c6d4f5", "pod-template-generation=3"],
      "DaemonSet",
      "fluentd-node",
    ],
    ["a CronJob's Job", "backup-29123456-*", ["job-name=backup-29123456"], "CronJob", "backup"],
    ["a Deployment without labels (name only)", "api-7d4f9c8b6-*", [], "Deployment", "api"],
    ["a bare pod (its full name, no star)", "debug-shell", [], "Pod", "debug-shell"],
  ])("resolves the aggregated name of %s", (_what, aggr, labels, kind, name) => {
    const flow = flowOf({ source_name_aggr: aggr, source_labels: { labels } });
    expect(flow.source.workload).toEqual({ kind, name });
  });

  it("reads full pod names, IPs and ports at level 0 and keeps the pod", () => {
    const flow = flowOf({
      source_name: "frontend-755cdc7957-x2b9q",
      source_ip: "10.244.1.7",
      source_port: 41234,
      dest_name: "cart-5d8f9c7b6d-q2w4x",
      dest_ip: "10.244.2.9",
    });
    expect(flow.source).toMatchObject({
      podName: "frontend-755cdc7957-x2b9q",
      ip: "10.244.1.7",
      workload: { kind: "Deployment", name: "frontend" },
    });
    expect(flow.sourcePort).toBe(41234);
    expect(flow.destination).toMatchObject({ podName: "cart-5d8f9c7b6d-q2w4x", ip: "10.244.2.9" });
  });

  it.each([
    [
      "hep: a host endpoint is the host entity",
      { dest_type: "hep", dest_name_aggr: "node-1", dest_namespace: "-" },
      { entity: "host" },
    ],
    [
      "ns: a namespaced NetworkSet is a named external peer",
      { dest_type: "ns", dest_name_aggr: "partners", dest_namespace: "shop", dest_labels: null },
      { entity: "world", namespace: "shop", peer: { kind: "NetworkSet", name: "partners" } },
    ],
    [
      "ns: a GlobalNetworkSet has no namespace",
      { dest_type: "ns", dest_name_aggr: "stripe-api", dest_namespace: "-" },
      { entity: "world", peer: { kind: "GlobalNetworkSet", name: "stripe-api" } },
    ],
    [
      "net with an IP (level 0/1) is an external peer by IP",
      { dest_type: "net", dest_name_aggr: "pub", dest_namespace: "-", dest_ip: "54.187.174.169" },
      { entity: "world", ip: "54.187.174.169" },
    ],
    [
      "net pub without an IP (level 2) is the public network",
      { dest_type: "net", dest_name_aggr: "pub", dest_namespace: "-" },
      { entity: "world", peer: { kind: "Network", name: "pub" } },
    ],
    [
      "net pvt without an IP is the private network",
      { dest_type: "net", dest_name_aggr: "pvt", dest_namespace: "-" },
      { entity: "world", peer: { kind: "Network", name: "pvt" } },
    ],
  ])("maps endpoint type %s", (_what, overrides, expected) => {
    expect(flowOf(overrides).destination).toMatchObject(expected);
  });

  it.each([
    ["the flow-log object", { labels: ["app=cart", "tier=backend"] }],
    ["a bare list (Goldmane)", ["app=cart", "tier=backend"]],
    ["a plain map", { app: "cart", tier: "backend" }],
  ])("reads labels given as %s", (_what, labels) => {
    expect(flowOf({ dest_labels: labels }).destination.labels).toEqual({ app: "cart", tier: "backend" });
  });

  it("drops labels that are not valid Kubernetes labels and Calico's own, keeps values with '='", () => {
    const labels = ["app=cart", "note=two words", "projectcalico.org/namespace=shop", "expr=a=b"];
    expect(flowOf({ dest_labels: { labels } }).destination.labels).toEqual({ app: "cart" });
    expect(flowOf({ dest_labels: null }).destination.labels).toEqual({});
  });

  it.each([
    ["tcp", "TCP"],
    ["udp", "UDP"],
    ["sctp", "SCTP"],
    ["icmp", "ICMPv4"],
    ["icmp6", "ICMPv6"],
    ["6", "TCP"],
    [17, "UDP"],
    ["47", "other"],
    ["esp", "other"],
  ])("reads proto %j as %s", (proto, protocol) => {
    expect(flowOf({ proto }).protocol).toBe(protocol);
  });

  it("has no port for ICMP", () => {
    expect(flowOf({ proto: "icmp", dest_port: null }).destinationPort).toBeUndefined();
  });

  it.each([
    ["allow", "forwarded", undefined],
    ["deny", "dropped", "POLICY_DENIED"],
  ])("reads action %s as verdict %s", (action, verdict, dropReason) => {
    const flow = flowOf({ action });
    expect(flow.verdict).toBe(verdict);
    expect(flow.dropReason).toBe(dropReason);
  });

  it.each([
    ["src", "src"],
    ["dst", "dst"],
    ["fwd", "dst"],
    ["dst, fwd", "dst"],
  ])("reads reporter %j as the %s end", (reporter, end) => {
    expect(flowOf({ reporter }).reporter).toBe(end);
  });

  it("takes dest_domains as DNS names of the destination", () => {
    const flow = flowOf({
      dest_type: "net",
      dest_name_aggr: "pub",
      dest_namespace: "-",
      dest_ip: "54.187.174.169",
      dest_domains: ["API.Stripe.com.", "not a name"],
    });
    expect(flow.destination.dnsNames).toEqual(["api.stripe.com"]);
  });

  it("counts a record as its num_flows connections, at least one", () => {
    expect(flowOf({ num_flows: 12, num_flows_started: 4 }).count).toBe(12);
    expect(flowOf({ num_flows: undefined, num_flows_started: undefined }).count).toBe(1);
  });

  it("reads the record inside an Elasticsearch hit and inside a shipper's log field", () => {
    expect(calicoRecordFromJson({ _index: "tigera_secure_ee_flows", _source: record() }).kind).toBe("flow");
    expect(calicoRecordFromJson({ log: JSON.stringify(record()) }).kind).toBe("flow");
  });

  it.each([
    ["an invalid namespace", { source_namespace: "Shop!" }, /source_namespace "Shop!" is not a valid Kubernetes name/],
    ["an invalid pod name", { dest_name: "cart;rm -rf" }, /dest_name .* is not a valid Kubernetes name/],
    ["an invalid aggregated name", { dest_name_aggr: "../etc/*" }, /dest_name_aggr .* is not a valid aggregated name/],
    ["an invalid IP", { source_ip: "10.0.0.300" }, /source_ip "10.0.0.300" is not an IP address/],
    ["a port out of range", { dest_port: 70000 }, /dest_port 70000 is not a port number/],
    ["a missing proto", { proto: undefined }, /no `proto`/],
  ])("rejects a record with %s, saying why", (_what, overrides, reason) => {
    const r = calicoRecordFromJson(record(overrides));
    expect(r.kind).toBe("bad");
    expect(r.kind === "bad" && r.reason).toMatch(reason);
  });

  it("rejects JSON that is not a flow-log record", () => {
    expect(calicoRecordFromJson({ hello: "world" })).toEqual({
      kind: "bad",
      reason: "the object is not a Calico flow-log record",
    });
  });
});
