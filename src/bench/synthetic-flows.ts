import { create, toBinary } from "@bufbuild/protobuf";
import type { ReplayEvent } from "../collect/hubble/replay-events.js";
import { FlowSchema, TrafficDirection, Verdict } from "../gen/flow/flow_pb.js";

/**
 * Generated Hubble flows for benchmarks: a few hundred workloads talking over a few thousand
 * edges, each flow encoded as a GetFlowsResponse with its own time. Built from per-edge templates
 * (protobuf messages concatenate: the time field is prepended to a template's bytes).
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(payload.length)]), payload]);
}

function timestamp(seconds: number, nanos: number): Buffer {
  return Buffer.from([0x08, ...varint(seconds), 0x10, ...varint(nanos)]);
}

export function syntheticEvents(count: number, startSeconds = 1_767_225_600): ReplayEvent[] {
  const namespaces = ["shop", "payments", "identity", "search", "monitoring"];
  const apps = Array.from({ length: 60 }, (_, i) => `svc-${i}`);
  const templates: Array<{ bytes: Buffer; node: string; src: string; dst: string }> = [];
  for (let i = 0; i < 2000; i++) {
    const sNs = namespaces[i % namespaces.length] as string;
    const dNs = namespaces[(i * 7) % namespaces.length] as string;
    const sApp = apps[i % apps.length] as string;
    const dApp = apps[(i * 13 + 5) % apps.length] as string;
    const sPod = `${sApp}-7d4b9c8f6d-${(i % 97).toString(36).padStart(5, "x")}`;
    const dPod = `${dApp}-5f6c7b8d9e-${(i % 89).toString(36).padStart(5, "y")}`;
    const labels = (ns: string, app: string) => [
      `k8s:app=${app}`,
      `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${ns}`,
      `k8s:io.cilium.k8s.policy.cluster=default`,
      `k8s:io.cilium.k8s.policy.serviceaccount=${app}`,
      `k8s:io.kubernetes.pod.namespace=${ns}`,
    ];
    const reply = i % 2 === 1;
    const flow = create(FlowSchema, {
      uuid: "",
      verdict: i % 50 === 0 ? Verdict.DROPPED : Verdict.FORWARDED,
      IP: { source: `10.0.${i % 250}.${i % 200}`, destination: `10.1.${i % 240}.${i % 180}`, ipVersion: 1 },
      l4: {
        protocol: {
          case: "TCP",
          value: {
            sourcePort: reply ? 8080 : 40000 + (i % 20000),
            destinationPort: reply ? 40000 + (i % 20000) : 8080 + (i % 5),
            flags: reply ? { SYN: true, ACK: true } : { SYN: true },
          },
        },
      },
      source: {
        identity: 10000 + i,
        namespace: sNs,
        podName: sPod,
        labels: labels(sNs, sApp),
        workloads: [{ name: sApp, kind: "Deployment" }],
      },
      destination: {
        identity: 20000 + i,
        namespace: dNs,
        podName: dPod,
        labels: labels(dNs, dApp),
        workloads: [{ name: dApp, kind: "Deployment" }],
      },
      nodeName: `kind-worker${i % 3}`,
      trafficDirection: TrafficDirection.EGRESS,
      isReply: reply,
      eventType: { type: 4 },
      Summary: "TCP Flags: SYN",
    });
    templates.push({
      bytes: Buffer.from(toBinary(FlowSchema, flow)),
      node: `kind-worker${i % 3}`,
      src: `${sNs}/${sPod}`,
      dst: `${dNs}/${dPod}`,
    });
  }
  const events: ReplayEvent[] = [];
  for (let n = 0; n < count; n++) {
    const t = templates[n % templates.length] as (typeof templates)[number];
    const seconds = startSeconds + Math.floor(n / 10_000);
    const nanos = (n % 10_000) * 100_000;
    const ts = timestamp(seconds, nanos);
    const uuid = Buffer.from(`f${n.toString(16).padStart(11, "0")}-0000-4000-8000-000000000000`);
    const flowBytes = Buffer.concat([lengthDelimited(1, ts), lengthDelimited(34, uuid), t.bytes]);
    const bytes = Buffer.concat([
      lengthDelimited(1, flowBytes),
      lengthDelimited(1000, Buffer.from(t.node)),
      lengthDelimited(1001, ts),
    ]);
    events.push({
      kind: "flow",
      time: { seconds, nanos },
      bytes,
      node: t.node,
      sourcePod: t.src,
      destinationPod: t.dst,
    });
  }
  return events;
}
