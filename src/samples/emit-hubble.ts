import { Random } from "./random.js";
import type { SimEvent, SimPeer, SimPod } from "./scenario.js";
import type { SimCluster } from "./simulate.js";

/**
 * Renders simulated connection events as Hubble `observe -o jsonpb` lines (Cilium 1.19 shape):
 * the request seen at the source (EGRESS) and at the destination (INGRESS), the reply, DNS
 * answers, and now and then a `lost_events` record. Labels Cilium keeps out of identities
 * (pod-template-hash, job-name, ...) are absent, as in real captures.
 */

const EMITTER = { name: "Hubble", version: "1.19.1+g0a1b2c3" };

interface Side {
  json: Record<string, unknown>;
  node: { name: string; ip: string } | undefined;
}

export class HubbleEmitter {
  private readonly random: Random;
  private readonly identities = new Map<string, number>();
  private readonly endpointIdsByPod = new Map<string, number>();
  private emitted = 0;
  /** Emit one `lost_events` record after this many flows (0: never). */
  constructor(
    private readonly cluster: SimCluster,
    seed = 11,
    private readonly lostEveryFlows = 0,
  ) {
    this.random = new Random(seed);
  }

  /** Cilium's endpoint ID: fixed for the life of a pod. */
  private endpointId(pod: SimPod): number {
    let id = this.endpointIdsByPod.get(pod.name);
    if (id === undefined) {
      id = 100 + this.endpointIdsByPod.size * 13;
      this.endpointIdsByPod.set(pod.name, id);
    }
    return id;
  }

  private identity(pod: SimPod): number {
    const key = `${pod.workload.namespace}/${pod.workload.name}`;
    let id = this.identities.get(key);
    if (id === undefined) {
      id = 10000 + this.identities.size * 7;
      this.identities.set(key, id);
    }
    return id;
  }

  private side(peer: SimPeer, pod: SimPod | undefined, withWorkloads: boolean): Side {
    if (pod) {
      const w = pod.workload;
      const ns = this.cluster.scenario.namespaces.find((n) => n.name === w.namespace);
      const labels = [
        ...Object.entries(pod.labels).map(([k, v]) => `k8s:${k}=${v}`),
        ...Object.entries(ns?.labels ?? {}).map(([k, v]) => `k8s:io.cilium.k8s.namespace.labels.${k}=${v}`),
        `k8s:io.cilium.k8s.policy.cluster=${this.cluster.scenario.clusterName}`,
        `k8s:io.cilium.k8s.policy.serviceaccount=${w.serviceAccount ?? "default"}`,
        `k8s:io.kubernetes.pod.namespace=${w.namespace}`,
      ].sort();
      const json: Record<string, unknown> = {
        ID: this.endpointId(pod),
        identity: this.identity(pod),
        cluster_name: this.cluster.scenario.clusterName,
        namespace: w.namespace,
        labels,
        pod_name: pod.name,
      };
      if (withWorkloads) json.workloads = [{ name: w.name, kind: w.kind === "CronJob" ? "CronJob" : w.kind }];
      return { json, node: pod.node };
    }
    if ("entity" in peer) {
      const byEntity = {
        host: { identity: 1, labels: ["reserved:host"] },
        "kube-apiserver": { identity: 7, labels: ["reserved:kube-apiserver", "reserved:remote-node"] },
        "remote-node": { identity: 6, labels: ["reserved:remote-node"] },
        world: { identity: 2, labels: ["reserved:world"] },
      }[peer.entity];
      return { json: { ...byEntity }, node: undefined };
    }
    return { json: { identity: 2, labels: ["reserved:world"] }, node: undefined };
  }

  /** The JSON lines for one event. */
  lines(event: SimEvent): string[] {
    const c = event.connection;
    const withWorkloads = this.random.next() < 0.7;
    const knowsReply = this.random.next() < 0.9;
    const src = this.side(c.from, event.srcPod, withWorkloads);
    const dst = this.side(c.to, event.dstPod, withWorkloads);
    const out: string[] = [];
    const dropped = c.verdict === "dropped";
    const names =
      "external" in c.to && c.to.external.names.length > 0 && this.random.next() < 0.6 ? c.to.external.names : [];
    const service =
      event.dstPod?.workload.service === true
        ? { name: event.dstPod.workload.name, namespace: event.dstPod.workload.namespace }
        : undefined;

    const request = (observer: "src" | "dst", offsetUs: number): string => {
      const node = observer === "src" ? (src.node ?? dst.node) : (dst.node ?? src.node);
      const flow: Record<string, unknown> = {
        time: iso(event.time, offsetUs),
        uuid: this.random.uuid(),
        emitter: EMITTER,
        verdict: dropped ? "DROPPED" : "FORWARDED",
      };
      if (dropped) {
        flow.drop_reason = 133;
        flow.drop_reason_desc = c.dropReason ?? "POLICY_DENIED";
      }
      flow.IP = { source: event.srcIp, destination: event.dstIp, ipVersion: "IPv4" };
      flow.l4 = l4(c.protocol, event.srcPort, c.port, { SYN: true });
      flow.source = src.json;
      flow.destination = dst.json;
      flow.Type = "L3_L4";
      flow.node_name = node?.name ?? "kind-worker";
      if (names.length > 0) flow.destination_names = names;
      if (service && observer === "src") flow.destination_service = service;
      flow.event_type = { type: dropped ? 1 : 4, sub_type: dropped ? 133 : observer === "src" ? 3 : 0 };
      flow.traffic_direction = observer === "src" ? "EGRESS" : "INGRESS";
      if (!dropped) {
        flow.trace_observation_point = observer === "src" ? "TO_STACK" : "TO_ENDPOINT";
        flow.trace_reason = "NEW";
      }
      if (knowsReply) flow.is_reply = false;
      flow.Summary = c.protocol === "TCP" ? "TCP Flags: SYN" : "UDP";
      return this.envelope(flow);
    };

    const reply = (offsetUs: number): string => {
      const node = dst.node ?? src.node;
      const flow: Record<string, unknown> = {
        time: iso(event.time, offsetUs),
        uuid: this.random.uuid(),
        emitter: EMITTER,
        verdict: "FORWARDED",
        IP: { source: event.dstIp, destination: event.srcIp, ipVersion: "IPv4" },
        l4: l4(c.protocol, c.port, event.srcPort, { SYN: true, ACK: true }),
        source: dst.json,
        destination: src.json,
        Type: "L3_L4",
        node_name: node?.name ?? "kind-worker",
        event_type: { type: 4, sub_type: 3 },
        traffic_direction: "INGRESS",
        trace_observation_point: "TO_STACK",
        trace_reason: "REPLY",
      };
      if (knowsReply) flow.is_reply = true;
      flow.Summary = c.protocol === "TCP" ? "TCP Flags: SYN, ACK" : "UDP";
      return this.envelope(flow);
    };

    if (event.srcPod || !event.dstPod) out.push(request("src", 0));
    if (event.dstPod && !(dropped && event.srcPod)) out.push(request("dst", 150));
    if (!dropped) out.push(reply(900));
    if (c.protocol === "UDP" && c.port === 53 && event.srcPod && this.random.next() < 0.2) {
      out.push(this.dnsAnswer(event, dst, src));
    }
    this.emitted += out.length;
    if (this.lostEveryFlows > 0 && this.emitted >= this.lostEveryFlows) {
      this.emitted = 0;
      out.push(
        JSON.stringify({
          lost_events: { source: "HUBBLE_RING_BUFFER", num_events_lost: String(this.random.int(5, 500)), cpu: null },
          node_name: event.srcPod?.node.name ?? "kind-worker",
          time: iso(event.time, 1000),
        }),
      );
    }
    return out;
  }

  private dnsAnswer(event: SimEvent, dns: Side, client: Side): string {
    const externals = this.cluster.scenario.connections
      .map((c) => ("external" in c.to ? c.to.external : undefined))
      .filter((e): e is { ip: string; names: string[] } => e !== undefined && e.names.length > 0);
    const target = externals.length > 0 ? this.random.pick(externals) : undefined;
    const query = `${target?.names[0] ?? "redis-cart.online-boutique.svc.cluster.local"}.`;
    const flow = {
      time: iso(event.time, 1200),
      uuid: this.random.uuid(),
      emitter: EMITTER,
      verdict: "FORWARDED",
      IP: { source: event.dstIp, destination: event.srcIp, ipVersion: "IPv4" },
      l4: { UDP: { source_port: 53, destination_port: event.srcPort } },
      source: dns.json,
      destination: client.json,
      Type: "L7",
      node_name: client.node?.name ?? "kind-worker",
      l7: {
        type: "RESPONSE",
        latency_ns: "412345",
        dns: {
          query,
          ips: target ? [target.ip] : ["10.96.12.34"],
          ttl: 30,
          observation_source: "proxy",
          rcode: 0,
          qtypes: ["A"],
          rrtypes: ["A"],
        },
      },
      event_type: { type: 129 },
      traffic_direction: "EGRESS",
      is_reply: true,
      Summary: `DNS Answer "${target?.ip ?? "10.96.12.34"}" TTL: 30 (Proxy ${query} A)`,
    };
    return this.envelope(flow);
  }

  private envelope(flow: Record<string, unknown>): string {
    return JSON.stringify({ flow, node_name: flow.node_name, time: flow.time });
  }
}

function l4(protocol: string, sport: number, dport: number, flags: Record<string, boolean>): Record<string, unknown> {
  if (protocol === "UDP") return { UDP: { source_port: sport, destination_port: dport } };
  return { TCP: { source_port: sport, destination_port: dport, flags } };
}

/** RFC 3339 with nanoseconds, as Hubble prints it. */
function iso(ms: number, offsetUs: number): string {
  const totalUs = ms * 1000 + offsetUs;
  const base = new Date(Math.floor(totalUs / 1000)).toISOString().slice(0, 19);
  return `${base}.${String(totalUs % 1_000_000).padStart(6, "0")}000Z`;
}
