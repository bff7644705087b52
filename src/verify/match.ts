import { endpointRef } from "../collect/batch-builder.js";
import { type ObservedEdge, type ObservedPeer, peerOf, workloadLabelSets } from "../diff/observed.js";
import { judgeEdge, peerEndpoints } from "../diff/observed-diff.js";
import type { Flow, FlowEndpoint } from "../model/flow.js";
import { flowRole } from "../model/initiator.js";
import { PolicyEngine } from "../policy/engine.js";
import type { Namespace } from "../policy/types.js";
import type { ConnectionStatus } from "../policy/verdict.js";
import type { WavePolicies } from "./wave-policies.js";

/**
 * The flows since a wave began, grouped by source, destination, port and verdict, and judged
 * against the wave's policies by the one verdict (`judgeConnection` on the policy engine, through
 * the diff's `judgeEdge`), with peers built as the store builds them (`endpointRef`, `peerOf`).
 */
export interface VerifyFinding {
  source: string;
  destination: string;
  protocol: string;
  port: number;
  verdict: string;
  dropReason: string;
  /** Connections, counted as `flowpol ingest` counts flows (a Calico record stands for several). */
  count: number;
  first: number;
  last: number;
  /** The wave's verdict on the connection; absent when no wave's policies were given. */
  wave?: ConnectionStatus;
  /** The sides where the wave's policies deny it: egress of the source, ingress of the destination. */
  deniedBy: Array<"egress" | "ingress">;
  /** The wave's policies that isolate a side that denies it (`kind/namespace/name`). */
  policies: string[];
}

/** Drop reasons that mean a policy stopped the flow (Hubble); Calico denies carry no reason. */
export function isPolicyVerdict(flow: Flow): boolean {
  if (flow.verdict === "audit") return true;
  if (flow.verdict !== "dropped") return false;
  return flow.dropReason === undefined || /POLICY|AUTH_REQUIRED|^(133|181|189)$/.test(flow.dropReason);
}

export function endpointName(ep: FlowEndpoint): string {
  if (ep.namespace && ep.workload) return `${ep.namespace}/${ep.workload.name}`;
  if (ep.namespace && ep.podName) return `${ep.namespace}/${ep.podName}`;
  if (ep.namespace && ep.podGroup) return `${ep.namespace}/${ep.podGroup}`;
  if (ep.entity) return ep.ip ? `${ep.entity} (${ep.ip})` : ep.entity;
  const name = ep.dnsNames[0];
  return name ? `${name} (${ep.ip ?? "?"})` : (ep.ip ?? "unknown");
}

/** One side of a group: the peer as the store keys it, with every label set and DNS name seen. */
interface Side {
  ep: FlowEndpoint;
  labelSets: Map<string, Record<string, string>>;
  dnsNames: Set<string>;
}

interface Group {
  finding: VerifyFinding;
  /** The connection's initiator and responder (a reply's are its flow's destination and source). */
  client: Side;
  server: Side;
  /** The port of the connection (a reply's source port). */
  port: number;
}

const canonical = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort());

function addSeen(side: Side, ep: FlowEndpoint): void {
  side.labelSets.set(canonical(ep.labels), ep.labels);
  for (const n of ep.dnsNames) side.dnsNames.add(n);
}

function peerOfSide(side: Side): ObservedPeer {
  const peer = peerOf(endpointRef(side.ep, ""), workloadLabelSets([...side.labelSets.values()]));
  if (peer.kind === "ip" && side.dnsNames.size > 0) peer.dnsNames = [...side.dnsNames].sort();
  return peer;
}

/**
 * Collects the flows stopped by policy at or after `since`. The wave's files are judged alone, not
 * with the earlier waves in force: a verdict says whether this wave's policies deny the connection,
 * which is what attributes a drop to the wave. Flows are counted as `flowpol ingest` counts them.
 */
export class VerifyCollector {
  private readonly stopped = new Map<string, Group>();
  private readonly namespaceLabels = new Map<string, Record<string, string>>();
  flowsSeen = 0;
  flowsSince = 0;
  repliesSince = 0;

  constructor(
    private readonly since: number,
    private readonly wave: WavePolicies | undefined,
  ) {}

  add(flow: Flow): void {
    this.flowsSeen += flow.count;
    if (flow.time < this.since) return;
    this.flowsSince += flow.count;
    const reply = flowRole(flow) === "reply";
    if (reply) this.repliesSince += flow.count;
    for (const ep of [flow.source, flow.destination]) {
      if (ep.namespace && Object.keys(ep.namespaceLabels).length > 0)
        this.namespaceLabels.set(ep.namespace, ep.namespaceLabels);
    }
    if (isPolicyVerdict(flow)) this.addTo(this.stopped, flow, reply);
  }

  private addTo(groups: Map<string, Group>, flow: Flow, reply: boolean): void {
    const f = {
      source: endpointName(flow.source),
      destination: endpointName(flow.destination),
      protocol: flow.protocol,
      port: flow.destinationPort ?? 0,
      verdict: flow.verdict,
      dropReason: flow.dropReason ?? "",
    };
    const client = reply ? flow.destination : flow.source;
    const server = reply ? flow.source : flow.destination;
    const key = JSON.stringify([f, reply, endpointRef(client, ""), endpointRef(server, "")]);
    const g = groups.get(key);
    if (g) {
      g.finding.count += flow.count;
      g.finding.first = Math.min(g.finding.first, flow.time);
      g.finding.last = Math.max(g.finding.last, flow.time);
      addSeen(g.client, client);
      addSeen(g.server, server);
      return;
    }
    const side = (ep: FlowEndpoint): Side => ({ ep, labelSets: new Map(), dnsNames: new Set() });
    const group: Group = {
      finding: { ...f, count: flow.count, first: flow.time, last: flow.time, deniedBy: [], policies: [] },
      client: side(client),
      server: side(server),
      port: (reply ? flow.sourcePort : flow.destinationPort) ?? 0,
    };
    addSeen(group.client, client);
    addSeen(group.server, server);
    groups.set(key, group);
  }

  /** Judges every group against the wave's policies, with the namespace labels the flows carried. */
  private judged(groups: Map<string, Group>): VerifyFinding[] {
    const merged = new Map<string, VerifyFinding>();
    const engine = this.wave && new PolicyEngine(this.wave.policies, this.namespaces(), { semantics: "kubernetes" });
    for (const g of groups.values()) {
      const finding = { ...g.finding };
      if (engine) {
        const icmp = finding.protocol === "ICMPv4" || finding.protocol === "ICMPv6";
        const edge: ObservedEdge = {
          src: peerOfSide(g.client),
          dst: peerOfSide(g.server),
          protocol: finding.protocol,
          port: icmp ? 0 : g.port,
          flows: finding.count,
        };
        const result = judgeEdge(engine, edge, (p) => peerEndpoints(p));
        finding.wave = result.status;
        finding.deniedBy = result.deniedBy;
        const names = new Set<string>();
        for (const direction of result.deniedBy) {
          const owner = direction === "egress" ? edge.src : edge.dst;
          for (const e of peerEndpoints(owner)) {
            if (e.kind !== "pod") continue;
            for (const c of engine.selecting(e.pod)[direction]) {
              names.add(`${c.policy.kind ?? "NetworkPolicy"}/${c.policy.namespace || "-"}/${c.policy.name}`);
            }
          }
        }
        finding.policies = [...names].sort();
      }
      // Groups that differ only in how the store keys a peer show as one finding.
      const key = JSON.stringify([
        finding.source,
        finding.destination,
        finding.protocol,
        finding.port,
        finding.verdict,
        finding.dropReason,
      ]);
      const prev = merged.get(key);
      if (!prev) merged.set(key, finding);
      else {
        prev.count += finding.count;
        prev.first = Math.min(prev.first, finding.first);
        prev.last = Math.max(prev.last, finding.last);
        if (finding.wave !== undefined && (finding.wave === "denied" || prev.wave === undefined))
          prev.wave = finding.wave;
        prev.deniedBy = [...new Set([...prev.deniedBy, ...finding.deniedBy])].sort() as VerifyFinding["deniedBy"];
        prev.policies = [...new Set([...prev.policies, ...finding.policies])].sort();
      }
    }
    return [...merged.values()].sort(
      (a, b) => b.count - a.count || (a.source + a.destination < b.source + b.destination ? -1 : 1) || a.port - b.port,
    );
  }

  private namespaces(): Namespace[] {
    const byName = new Map<string, Namespace>();
    for (const [name, labels] of this.namespaceLabels) byName.set(name, { name, labels });
    // The Namespace manifests given with the wave win over the labels the flows carried.
    for (const ns of this.wave?.namespaces ?? []) byName.set(ns.name, ns);
    return [...byName.values()];
  }

  /** The flows stopped by policy, each with the wave's verdict on its connection. */
  findings(): VerifyFinding[] {
    return this.judged(this.stopped);
  }
}
