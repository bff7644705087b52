import {
  type CompiledPeer,
  type CompiledPolicy,
  type CompiledPort,
  type CompiledRule,
  compilePolicy,
} from "./compile.js";
import { ConnSet, type PolicyProtocol } from "./conn-set.js";
import { type IpRange, parseIp, rangeContains, rangesOverlap } from "./ip-range.js";
import { PeerIndex } from "./peer-index.js";
import { PortSet } from "./port-set.js";
import {
  type Entity,
  type Labels,
  NAMESPACE_NAME_LABEL,
  type Namespace,
  type NetworkPolicy,
  type Pod,
  type RuleRef,
} from "./types.js";

/**
 * `kubernetes`: networking.k8s.io/v1 exactly (ipBlocks match pod IPs).
 * `analyzer`: np-guard netpol-analyzer's conventions (ipBlocks never match pods).
 */
export type Semantics = "kubernetes" | "analyzer";

/**
 * One side of a connection: a pod (or a workload standing for its pods), an IP range, or a peer
 * known by neither (only rules that allow every peer match it). An IP may carry the reserved
 * identity it was seen as (`host`, `remote-node`, `kube-apiserver`...; none: outside the cluster)
 * and the DNS names it answered for.
 */
export type Endpoint =
  | { kind: "pod"; pod: Pod }
  | { kind: "ip"; range: IpRange; entity?: string; dnsNames?: readonly string[] }
  | { kind: "unknown" };

/** What Cilium's `cluster` entity covers besides pods (the API server may sit outside the cluster). */
const CLUSTER_ENTITIES: ReadonlySet<string> = new Set([
  "host",
  "remote-node",
  "health",
  "init",
  "ingress",
  "unmanaged",
]);

export type Direction = "ingress" | "egress";

/** What one direction says about a connection. */
export interface DirectionVerdict {
  /** Some policy selects that side's pod for this direction. */
  isolated: boolean;
  /** The rules that allow the connection (empty when isolated and denied). */
  rules: RuleRef[];
}

export interface ConnectionVerdict {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
}

export interface EngineOptions {
  semantics?: Semantics;
}

type NamedPort = Extract<CompiledPort, { kind: "named" }>;

/** A rule's ports as the engine reads them (`portsOf`). */
interface RulePorts {
  numbered: ConnSet;
  named: NamedPort[];
}

/** Rules with more peers than this find an address's ipBlocks through a `PeerIndex`. */
const INDEXED_PEERS = 16;

/**
 * Evaluates a set of NetworkPolicies. A connection is allowed only if egress from the source and
 * ingress to the destination both allow it; within a direction, every policy selecting the pod
 * adds its rules (rules ORed, peers ORed, ports ORed).
 */
export class PolicyEngine {
  readonly semantics: Semantics;
  private readonly byNamespace = new Map<string, CompiledPolicy[]>();
  private readonly namespaceLabels = new Map<string, Labels>();
  private readonly selectedCache = new WeakMap<Pod, { ingress: CompiledPolicy[]; egress: CompiledPolicy[] }>();
  private readonly podIpCache = new WeakMap<Pod, IpRange[]>();
  private readonly peerIndexes = new WeakMap<CompiledPeer[], PeerIndex>();
  private readonly rulePortSets = new WeakMap<CompiledPort[], RulePorts>();

  constructor(policies: readonly NetworkPolicy[], namespaces: readonly Namespace[] = [], options: EngineOptions = {}) {
    this.semantics = options.semantics ?? "kubernetes";
    for (const p of policies) {
      const list = this.byNamespace.get(p.namespace) ?? [];
      list.push(compilePolicy(p));
      this.byNamespace.set(p.namespace, list);
    }
    for (const ns of namespaces) {
      this.namespaceLabels.set(ns.name, { ...ns.labels, [NAMESPACE_NAME_LABEL]: ns.name });
    }
  }

  /** A namespace's labels; one without a manifest has only `kubernetes.io/metadata.name`. */
  labelsOfNamespace(name: string): Labels {
    let labels = this.namespaceLabels.get(name);
    if (!labels) {
      labels = { [NAMESPACE_NAME_LABEL]: name };
      this.namespaceLabels.set(name, labels);
    }
    return labels;
  }

  /** The policies that select a pod, per direction they isolate. */
  selecting(pod: Pod): { ingress: CompiledPolicy[]; egress: CompiledPolicy[] } {
    let hit = this.selectedCache.get(pod);
    if (!hit) {
      const all = (this.byNamespace.get(pod.namespace) ?? []).filter((p) => p.selects(pod.labels));
      hit = { ingress: all.filter((p) => p.ingress), egress: all.filter((p) => p.egress) };
      this.selectedCache.set(pod, hit);
    }
    return hit;
  }

  /** Every connection allowed from src to dst. */
  allowed(src: Endpoint, dst: Endpoint): ConnSet {
    const egress = this.directionConns(src, dst, "egress");
    if (egress.isEmpty()) return egress;
    const ingress = this.directionConns(src, dst, "ingress");
    if (egress === ConnSet.ALL) return ingress;
    if (ingress === ConnSet.ALL) return egress;
    return egress.intersect(ingress);
  }

  /** What each direction allows from src to dst (ALL when that side is not isolated). */
  directionConns(src: Endpoint, dst: Endpoint, direction: Direction): ConnSet {
    const owner = direction === "egress" ? src : dst;
    if (owner.kind !== "pod") return ConnSet.ALL;
    const policies = this.selecting(owner.pod)[direction];
    if (policies.length === 0) return ConnSet.ALL;
    const peer = direction === "egress" ? dst : src;
    let conns = ConnSet.NONE;
    for (const policy of policies) {
      for (const rule of policy[direction]!) {
        if (!this.ruleMatchesPeer(rule, peer)) continue;
        conns = conns.union(this.rulePorts(rule, dst));
        if (conns.isAll()) return ConnSet.ALL;
      }
    }
    return conns;
  }

  /** Whether one connection (protocol and port) is allowed, and by which rules on each side. */
  decide(src: Endpoint, dst: Endpoint, protocol: PolicyProtocol, port: number): ConnectionVerdict {
    const egress = this.directionVerdict(src, dst, "egress", protocol, port);
    const ingress = this.directionVerdict(src, dst, "ingress", protocol, port);
    const sideAllows = (v: DirectionVerdict) => !v.isolated || v.rules.length > 0;
    return { allowed: sideAllows(egress) && sideAllows(ingress), egress, ingress };
  }

  private directionVerdict(
    src: Endpoint,
    dst: Endpoint,
    direction: Direction,
    protocol: PolicyProtocol,
    port: number,
  ): DirectionVerdict {
    const owner = direction === "egress" ? src : dst;
    if (owner.kind !== "pod") return { isolated: false, rules: [] };
    const policies = this.selecting(owner.pod)[direction];
    const peer = direction === "egress" ? dst : src;
    const rules: RuleRef[] = [];
    for (const policy of policies) {
      for (const rule of policy[direction]!) {
        if (this.rulePortsHave(rule, dst, protocol, port) && this.ruleMatchesPeer(rule, peer)) rules.push(rule.ref);
      }
    }
    return { isolated: policies.length > 0, rules };
  }

  ruleMatchesPeer(rule: CompiledRule, peer: Endpoint): boolean {
    if (!rule.peers) return true;
    if (peer.kind === "ip" && rule.peers.length > INDEXED_PEERS) {
      const index = this.peerIndex(rule.peers);
      const matches = (p: CompiledPeer) => this.peerMatches(p, peer);
      return index.someBlockContaining(peer.range, matches) || index.others.some(matches);
    }
    return rule.peers.some((p) => this.peerMatches(p, peer));
  }

  /**
   * A rule's numbered ports as one set, and its named ports: a rule can list thousands of ports
   * (a port scan observed and allowed), which every connection judged would otherwise try in turn.
   */
  private portsOf(ports: CompiledPort[]): RulePorts {
    let found = this.rulePortSets.get(ports);
    if (!found) {
      const numbered: ConnSet[] = [];
      const named: NamedPort[] = [];
      for (const p of ports) {
        if (p.kind === "numbered") numbered.push(p.conns);
        else named.push(p);
      }
      found = { numbered: ConnSet.unionAll(numbered), named };
      this.rulePortSets.set(ports, found);
    }
    return found;
  }

  private peerIndex(peers: CompiledPeer[]): PeerIndex {
    let index = this.peerIndexes.get(peers);
    if (!index) {
      index = new PeerIndex(peers);
      this.peerIndexes.set(peers, index);
    }
    return index;
  }

  private peerMatches(peer: CompiledPeer, endpoint: Endpoint): boolean {
    if (peer.kind === "pods") {
      if (endpoint.kind !== "pod") return false;
      const pod = endpoint.pod;
      const inNamespace = peer.namespaces
        ? peer.namespaces(this.labelsOfNamespace(pod.namespace))
        : pod.namespace === peer.ownNamespace;
      return inNamespace && peer.pods(pod.labels);
    }
    if (peer.kind === "entities") return entitiesMatch(peer.entities, endpoint);
    if (endpoint.kind === "unknown") return false;
    if (peer.kind === "fqdn") return endpoint.kind === "ip" && (endpoint.dnsNames ?? []).some(peer.matches);
    if (endpoint.kind === "ip") {
      if (peer.worldOnly && endpoint.entity !== undefined) return false;
      return ipBlockMatches(peer, endpoint.range);
    }
    if (this.semantics === "analyzer" || peer.worldOnly) return false;
    return this.podIps(endpoint.pod).some((ip) => ipBlockMatches(peer, ip));
  }

  /** The connections a rule's ports allow towards dst; named ports resolve on dst's containers. */
  rulePorts(rule: CompiledRule, dst: Endpoint): ConnSet {
    if (!rule.ports) return ConnSet.ALL;
    const { numbered, named } = this.portsOf(rule.ports);
    let conns = numbered;
    for (const port of named) {
      if (dst.kind !== "pod") continue;
      for (const c of dst.pod.ports ?? []) {
        if (c.name === port.name && c.protocol === port.protocol) {
          conns = conns.union(ConnSet.of(port.protocol, PortSet.of(c.containerPort)));
        }
      }
    }
    return conns;
  }

  /** Whether a rule's ports include one port (no allocation: this is the per-edge hot path). */
  rulePortsHave(rule: CompiledRule, dst: Endpoint, protocol: PolicyProtocol, port: number): boolean {
    if (!rule.ports) return true;
    const { numbered, named } = this.portsOf(rule.ports);
    if (numbered.has(protocol, port)) return true;
    for (const p of named) {
      if (p.protocol !== protocol || dst.kind !== "pod") continue;
      for (const c of dst.pod.ports ?? []) {
        if (c.name === p.name && c.protocol === protocol && c.containerPort === port) return true;
      }
    }
    return false;
  }

  private podIps(pod: Pod): IpRange[] {
    let ips = this.podIpCache.get(pod);
    if (!ips) {
      ips = [];
      for (const text of pod.ips ?? []) {
        const ip = parseIp(text);
        if (ip) ips.push({ family: ip.family, start: ip.value, end: ip.value });
      }
      this.podIpCache.set(pod, ips);
    }
    return ips;
  }
}

function entitiesMatch(entities: ReadonlySet<Entity>, endpoint: Endpoint): boolean {
  if (entities.has("all")) return true;
  if (endpoint.kind === "unknown") return false;
  if (endpoint.kind === "pod") return entities.has("cluster");
  const entity = endpoint.entity;
  if (entity === undefined) {
    return entities.has("world") || entities.has(endpoint.range.family === 4 ? "world-ipv4" : "world-ipv6");
  }
  return entities.has(entity as Entity) || (entities.has("cluster") && CLUSTER_ENTITIES.has(entity));
}

/** An IP range matches an ipBlock when it lies inside the CIDR and touches none of its excepts. */
export function ipBlockMatches(peer: { block: IpRange; except: IpRange[] }, range: IpRange): boolean {
  return rangeContains(peer.block, range) && !peer.except.some((e) => rangesOverlap(e, range));
}

export function ipEndpoint(ip: string): Endpoint | undefined {
  const parsed = parseIp(ip);
  if (!parsed) return undefined;
  return { kind: "ip", range: { family: parsed.family, start: parsed.value, end: parsed.value } };
}
