import { describe, expect, it } from "vitest";
import { hubbleRecordFromJson } from "../../src/collect/hubble/json-flow.js";
import type { Flow } from "../../src/model/flow.js";

const protoNameFlow = {
  time: "2026-02-24T08:43:39.070396373Z",
  uuid: "6f1c1b52-0000-4000-8000-000000000001",
  verdict: "FORWARDED",
  IP: { source: "10.0.1.5", destination: "93.184.216.34", ipVersion: "IPv4" },
  l4: { TCP: { source_port: 54321, destination_port: 443, flags: { SYN: true } } },
  source: {
    ID: 1501,
    identity: 39459,
    namespace: "shop",
    labels: [
      "k8s:app=frontend",
      "k8s:io.kubernetes.pod.namespace=shop",
      "k8s:io.cilium.k8s.namespace.labels.team=web",
      "k8s:io.cilium.k8s.policy.serviceaccount=frontend",
      "k8s:io.cilium.k8s.policy.cluster=default",
    ],
    pod_name: "frontend-7d4b8c9f5-xk2mh",
    workloads: [{ name: "frontend", kind: "Deployment" }],
  },
  destination: { identity: 2, labels: ["reserved:world"] },
  destination_names: ["Example.com."],
  node_name: "node-a",
  traffic_direction: "EGRESS",
  trace_reason: "NEW",
  is_reply: false,
};

const camelFlow = {
  time: "2026-02-24T08:43:39.070396373Z",
  uuid: "6f1c1b52-0000-4000-8000-000000000001",
  verdict: 1,
  IP: { source: "10.0.1.5", destination: "93.184.216.34", ipVersion: 1 },
  l4: { TCP: { sourcePort: 54321, destinationPort: 443, flags: { SYN: true } } },
  source: {
    ID: 1501,
    identity: 39459,
    namespace: "shop",
    labels: [
      "k8s:app=frontend",
      "k8s:io.kubernetes.pod.namespace=shop",
      "k8s:io.cilium.k8s.namespace.labels.team=web",
      "k8s:io.cilium.k8s.policy.serviceaccount=frontend",
      "k8s:io.cilium.k8s.policy.cluster=default",
    ],
    podName: "frontend-7d4b8c9f5-xk2mh",
    workloads: [{ name: "frontend", kind: "Deployment" }],
  },
  destination: { identity: "2", labels: ["reserved:world"] },
  destinationNames: ["example.com"],
  nodeName: "node-a",
  trafficDirection: 2,
  traceReason: 1,
  isReply: false,
};

function flowOf(value: unknown): Flow {
  const record = hubbleRecordFromJson(value);
  if (record.kind !== "flow") throw new Error(`expected a flow, got ${JSON.stringify(record)}`);
  return record.flow;
}

describe("Hubble JSON records", () => {
  const expected = flowOf({ flow: protoNameFlow, node_name: "node-a", time: protoNameFlow.time });

  it("reads an observe -o jsonpb envelope with proto names", () => {
    expect(expected).toMatchObject({
      time: Date.parse("2026-02-24T08:43:39.070Z"),
      verdict: "forwarded",
      direction: "egress",
      isReply: false,
      protocol: "TCP",
      sourcePort: 54321,
      destinationPort: 443,
      node: "node-a",
      source: {
        ip: "10.0.1.5",
        namespace: "shop",
        podName: "frontend-7d4b8c9f5-xk2mh",
        workload: { kind: "Deployment", name: "frontend" },
        labels: { app: "frontend" },
        namespaceLabels: { team: "web" },
        serviceAccount: "frontend",
      },
      destination: { ip: "93.184.216.34", entity: "world", dnsNames: ["example.com"] },
    });
  });

  it.each([
    ["a legacy bare Flow line", protoNameFlow],
    ["lowerCamel keys with enums as numbers", { flow: camelFlow }],
    [
      "an exporter line wrapped in a log shipper's `log` string",
      { log: JSON.stringify({ flow: protoNameFlow }), stream: "stdout" },
    ],
    ["an ExportEvent with lowerCamel node name", { flow: protoNameFlow, nodeName: "node-a" }],
  ])("reads %s to the same flow", (_name, value) => {
    expect(flowOf(value)).toEqual(expected);
  });

  it.each([
    ["is_reply absent: unknown", {}, undefined],
    ["the deprecated reply flag", { reply: true }, true],
  ])("reads reply state when %s", (_name, extra, isReply) => {
    const { is_reply: _omit, ...rest } = protoNameFlow;
    expect(flowOf({ ...rest, ...extra }).isReply).toBe(isReply);
  });

  it("counts lost_events with 64-bit counts as strings", () => {
    const record = hubbleRecordFromJson({
      lost_events: { source: "HUBBLE_RING_BUFFER", num_events_lost: "42", cpu: { value: 1 } },
      node_name: "node-a",
      time: "2026-02-24T08:43:39Z",
    });
    expect(record).toEqual({
      kind: "lost",
      lost: { source: "HUBBLE_RING_BUFFER", lost: 42, node: "node-a", time: Date.parse("2026-02-24T08:43:39Z") },
    });
  });

  it.each([["node_status"], ["agent_event"], ["debug_event"]])("skips %s events", (key) => {
    expect(hubbleRecordFromJson({ [key]: { type: 1 }, node_name: "n" })).toEqual({ kind: "skip", what: key });
  });

  it("derives the workload from the pod name when `workloads` is absent", () => {
    const { workloads: _w, ...source } = protoNameFlow.source;
    expect(flowOf({ ...protoNameFlow, source }).source.workload).toEqual({ kind: "Deployment", name: "frontend" });
  });

  it("takes the most specific reserved identity", () => {
    const flow = flowOf({
      ...protoNameFlow,
      destination: { identity: 1, labels: ["reserved:host", "reserved:kube-apiserver"] },
    });
    expect(flow.destination.entity).toBe("kube-apiserver");
  });

  it("falls back to the reserved identity number when labels were masked away", () => {
    const flow = flowOf({ ...protoNameFlow, destination: { identity: 6 } });
    expect(flow.destination.entity).toBe("remote-node");
  });

  it("keeps an L7 DNS answer", () => {
    const flow = flowOf({
      ...protoNameFlow,
      l7: { type: "RESPONSE", dns: { query: "api.stripe.com.", ips: ["54.187.174.169"], qtypes: ["A"] } },
    });
    expect(flow.dnsAnswer).toEqual({ query: "api.stripe.com", ips: ["54.187.174.169"] });
  });

  it.each([
    [
      "a namespace that is not a Kubernetes name",
      { source: { ...protoNameFlow.source, namespace: "../../etc" } },
      /namespace/,
    ],
    ["a pod name with a YAML break", { source: { ...protoNameFlow.source, pod_name: "x\nkind: Secret" } }, /pod name/],
    [
      "a workload name with a slash",
      { source: { ...protoNameFlow.source, workloads: [{ name: "a/b", kind: "Deployment" }] } },
      /workload name/,
    ],
    ["an IP that is not an IP", { IP: { source: "'; DROP TABLE edges; --", destination: "10.0.0.1" } }, /not an IP/],
    ["no time at all", { time: undefined }, /time/],
    ["a port above 65535", { l4: { TCP: { source_port: 1, destination_port: 70000 } } }, /port/],
  ])("rejects %s", (_name, override, reason) => {
    const record = hubbleRecordFromJson({ ...protoNameFlow, ...override });
    expect(record.kind).toBe("bad");
    expect(record.kind === "bad" && record.reason).toMatch(reason);
  });

  it.each([
    ["a label value with a quote", "k8s:app=a'b"],
    ["a label key with spaces", "k8s:bad key=x"],
    ["a label that is not a string", 42],
  ])("keeps the flow without %s, saying why", (_name, label) => {
    const record = hubbleRecordFromJson({
      ...protoNameFlow,
      source: { ...protoNameFlow.source, labels: [...protoNameFlow.source.labels, label] },
    });
    const clean = hubbleRecordFromJson(protoNameFlow);
    expect(record.kind === "flow" && record.flow.source.labels).toEqual(
      clean.kind === "flow" && clean.flow.source.labels,
    );
    expect(record.kind === "flow" && record.flow.source.droppedLabels).toMatch(/not valid Kubernetes label syntax/);
  });

  it.each([
    ["an array", [1, 2]],
    ["a string", "hello"],
    ["an object that is no flow", { kind: "Deployment", metadata: {} }],
  ])("rejects %s as not a flow record", (_name, value) => {
    expect(hubbleRecordFromJson(value).kind).toBe("bad");
  });
});
