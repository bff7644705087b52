import { ConnSet } from "./conn-set.js";
import { type Endpoint, PolicyEngine, type Semantics } from "./engine.js";
import { INGRESS_CONTROLLER_ID, type IngressConn, ingressControllerConns } from "./ingress-controller.js";
import { atomsOf, type IpFamily, type IpRange, parseCidr, rangeToString, subtractRanges } from "./ip-range.js";
import { type Topology, topologyWorkloadId } from "./objects.js";
import type { NetworkPolicy } from "./types.js";

/**
 * The connectivity of a topology, as netpol-analyzer lists it: for every ordered pair of
 * workloads, and between each workload and the external IP space, the connections allowed. The
 * external space is cut into the atoms induced by the policies' ipBlocks. A workload to itself and
 * external to external pairs are left out.
 */
export interface ConnLine {
  src: string;
  dst: string;
  conns: ConnSet;
}

export interface ConnlistOptions {
  semantics?: Semantics;
  /** Extra ranges that cut the external space (the other side's ipBlocks, in a diff). */
  extraIngressRanges?: readonly IpRange[];
  extraEgressRanges?: readonly IpRange[];
  /** Told when an Ingress or Route routes to a workload whose policies block the ingress controller. */
  warn?: (message: string) => void;
}

/** Connections per pair of workloads, and per workload per external atom (in atom order). */
export interface ConnTable {
  ingressAtoms: IpRange[];
  egressAtoms: IpRange[];
  workloadIds: string[];
  /** key `src\0dst` */
  internal: Map<string, ConnSet>;
  egressToAtoms: Map<string, ConnSet[]>;
  ingressFromAtoms: Map<string, ConnSet[]>;
  /** From netpol-analyzer's `{ingress-controller}`, per workload an Ingress or Route reaches (possibly none). */
  fromIngressController: IngressConn[];
}

export function pairKey(src: string, dst: string): string {
  return `${src}\u0000${dst}`;
}

/**
 * The IP ranges that cut the external space on one side: each ipBlock of that direction's rules
 * as the interval set cidr minus its excepts (neighbouring excepts cut nothing between them).
 */
export function ipBlockRanges(policies: readonly NetworkPolicy[], direction: "ingress" | "egress"): IpRange[] {
  const out: IpRange[] = [];
  for (const p of policies) {
    const rules = direction === "ingress" ? (p.ingress ?? []).map((r) => r.from) : (p.egress ?? []).map((r) => r.to);
    for (const peers of rules) {
      for (const peer of peers ?? []) {
        const ipBlock = peer.ipBlock ?? peer.worldBlock;
        if (!ipBlock) continue;
        const block = parseCidr(ipBlock.cidr);
        if (!block) continue;
        const except = (ipBlock.except ?? []).map(parseCidr).filter((r) => r !== undefined);
        out.push(...subtractRanges({ family: block.family, start: block.start, end: block.end }, except));
      }
    }
  }
  return out;
}

function atomsFor(ranges: readonly IpRange[]): IpRange[] {
  const families: IpFamily[] = ranges.some((r) => r.family === 6) ? [4, 6] : [4];
  return atomsOf(ranges, families);
}

/**
 * Computes every workload pair, and each workload against the external atoms: sources cut by the
 * ingress rules' ipBlocks, destinations cut by the egress rules' ipBlocks (as the analyzer does).
 */
export function connTable(topo: Topology, options: ConnlistOptions = {}): ConnTable {
  const engine = new PolicyEngine(topo.policies, topo.namespaces, { semantics: options.semantics ?? "analyzer" });
  const ingressAtoms = atomsFor([...ipBlockRanges(topo.policies, "ingress"), ...(options.extraIngressRanges ?? [])]);
  const egressAtoms = atomsFor([...ipBlockRanges(topo.policies, "egress"), ...(options.extraEgressRanges ?? [])]);
  const toEndpoints = (atoms: IpRange[]) => atoms.map((range): Endpoint => ({ kind: "ip", range }));
  const ingressEndpoints = toEndpoints(ingressAtoms);
  const egressEndpoints = toEndpoints(egressAtoms);
  const workloads = topo.workloads.map((w) => ({
    id: topologyWorkloadId(w),
    endpoint: { kind: "pod", pod: w.pod } as Endpoint,
  }));
  const table: ConnTable = {
    ingressAtoms,
    egressAtoms,
    workloadIds: workloads.map((w) => w.id),
    internal: new Map(),
    egressToAtoms: new Map(),
    ingressFromAtoms: new Map(),
    fromIngressController: ingressControllerConns(topo, engine),
  };
  for (const src of workloads) {
    for (const dst of workloads) {
      if (src.id === dst.id) continue;
      const conns = engine.allowed(src.endpoint, dst.endpoint);
      if (!conns.isEmpty()) table.internal.set(pairKey(src.id, dst.id), conns);
    }
    table.egressToAtoms.set(
      src.id,
      egressEndpoints.map((a) => engine.allowed(src.endpoint, a)),
    );
    table.ingressFromAtoms.set(
      src.id,
      ingressEndpoints.map((a) => engine.allowed(a, src.endpoint)),
    );
  }
  return table;
}

export function externalId(range: IpRange): string {
  return `${rangeToString(range)}[External]`;
}

export function connectivityList(topo: Topology, options: ConnlistOptions = {}): ConnLine[] {
  const table = connTable(topo, options);
  const lines: ConnLine[] = [];
  for (const [key, conns] of table.internal) {
    const [src, dst] = key.split("\u0000") as [string, string];
    lines.push({ src, dst, conns });
  }
  for (const id of table.workloadIds) {
    table.egressToAtoms.get(id)!.forEach((conns, i) => {
      if (!conns.isEmpty()) lines.push({ src: id, dst: externalId(table.egressAtoms[i]!), conns });
    });
    table.ingressFromAtoms.get(id)!.forEach((conns, i) => {
      if (!conns.isEmpty()) lines.push({ src: externalId(table.ingressAtoms[i]!), dst: id, conns });
    });
  }
  for (const c of table.fromIngressController) {
    if (!c.conns.isEmpty()) lines.push({ src: INGRESS_CONTROLLER_ID, dst: c.dst, conns: c.conns });
    else
      options.warn?.(
        `${c.via} routes to ${c.dst}, but its NetworkPolicies admit no connection from a pod of another namespace: the list shows none from ${INGRESS_CONTROLLER_ID}`,
      );
  }
  const keyed = lines.map((l) => ({ l, text: lineText(l) }));
  return keyed.sort((a, b) => compareText(a.text, b.text)).map((k) => k.l);
}

export const NO_CONNS = ConnSet.NONE;

export function lineText(l: ConnLine): string {
  return `${l.src} => ${l.dst} : ${l.conns.toString()}`;
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The workload part of a peer id, for focus filters: `ns/name` and `name` (`{name}` for a pseudo-peer). */
function matchesWorkload(id: string, names: readonly string[]): boolean {
  if (id.startsWith("{") && id.endsWith("}")) return names.includes(id.slice(1, -1));
  const bracket = id.lastIndexOf("[");
  const nsName = bracket === -1 ? id : id.slice(0, bracket);
  const name = nsName.slice(nsName.indexOf("/") + 1);
  return names.some((n) => n === nsName || n === name);
}

export interface FocusOptions {
  workloads?: readonly string[];
  direction?: "ingress" | "egress";
  peers?: readonly string[];
}

/** netpol-analyzer's --focusworkload, --focus-direction and --focusworkload-peer filters. */
export function focus(lines: readonly ConnLine[], f: FocusOptions): ConnLine[] {
  const workloads = f.workloads ?? [];
  if (workloads.length === 0) return [...lines];
  const peers = f.peers ?? [];
  return lines.filter((l) => {
    const asSrc = matchesWorkload(l.src, workloads) && (peers.length === 0 || matchesWorkload(l.dst, peers));
    const asDst = matchesWorkload(l.dst, workloads) && (peers.length === 0 || matchesWorkload(l.src, peers));
    if (f.direction === "egress") return asSrc;
    if (f.direction === "ingress") return asDst;
    return asSrc || asDst;
  });
}
