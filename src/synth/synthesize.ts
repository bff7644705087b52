import {
  cmp,
  type DependencyGraph,
  edgeKey,
  type GraphEdge,
  type GraphNode,
  type SharedService,
  type WorkloadNode,
} from "../graph/index.js";
import { CLUSTER_DNS_LABELS, CLUSTER_DNS_NAMESPACE } from "../model/labels.js";
import { hostCidr, isIp, isMetadataIp, metadataInside, sortedByCidr, widenIp } from "./cidr.js";
import type {
  IpPeer,
  NamespacePlan,
  NotAllowed,
  Peer,
  PolicyIntent,
  PolicyPlan,
  PortRef,
  Rule,
  SynthNotice,
  SynthOptions,
} from "./intent.js";
import { NameAllocator } from "./names.js";

/**
 * Synthesis: the dependency graph in, a least-privilege policy plan out. Per namespace in scope:
 * a default-deny, the DNS exception, the shared-service exceptions, then one policy per observed
 * flow (ingress on the destination side, egress on the source side). Pure and deterministic.
 */

const DNS_PORTS: PortRef[] = [
  { protocol: "TCP", port: 53 },
  { protocol: "UDP", port: 53 },
];
/** Used for the DNS exception when no cluster DNS was observed. */
const DEFAULT_DNS_PEER: Peer = {
  kind: "pods",
  namespace: CLUSTER_DNS_NAMESPACE,
  podSelector: { ...CLUSTER_DNS_LABELS },
};
const PORT_PROTOCOLS = new Set(["TCP", "UDP", "SCTP"]);
const NO_ADDRESS =
  "the source named this peer without an address (Calico pub/pvt once IPs are aggregated, Goldmane, a NetworkSet): no ipBlock can say it; lower Calico's aggregation level for allowed flows, or allow it by hand";

export function synthesize(graph: DependencyGraph, options: SynthOptions): PolicyPlan {
  return new Planner(graph, options).plan();
}

type Half = "ingress" | "egress";

class Planner {
  private readonly notices: SynthNotice[] = [];
  private readonly notAllowed = new Map<string, NotAllowed>();
  /** Edge halves already allowed by a DNS or shared-service exception. */
  private readonly covered = { ingress: new Set<string>(), egress: new Set<string>() };
  private readonly dnsNodes: Set<string>;
  private readonly sharedByNode = new Map<string, SharedService[]>();
  /** Allowed edges by the namespace of their source workload, of their target workload, and by target node. */
  private readonly fromNamespace = new Map<string, GraphEdge[]>();
  private readonly toNamespace = new Map<string, GraphEdge[]>();
  private readonly toNode = new Map<string, GraphEdge[]>();

  constructor(
    private readonly graph: DependencyGraph,
    private readonly options: SynthOptions,
  ) {
    for (const s of graph.shared) {
      for (const id of s.nodes) {
        const list = this.sharedByNode.get(id) ?? [];
        list.push(s);
        this.sharedByNode.set(id, list);
      }
    }
    // Resolvers are the DNS-role nodes something was seen querying on port 53, cluster-wide: a
    // catalog match seen only on another port (node-local-dns scraped on 9253) is no resolver.
    const dnsRole = new Set(graph.shared.filter((s) => s.role === "dns").flatMap((s) => s.nodes));
    this.dnsNodes = new Set(graph.allowed.filter((e) => e.port === 53 && dnsRole.has(e.to)).map((e) => e.to));
    const push = (map: Map<string, GraphEdge[]>, key: string, e: GraphEdge) => {
      const list = map.get(key);
      if (list) list.push(e);
      else map.set(key, [e]);
    };
    for (const e of graph.allowed) {
      const src = this.workload(e.from);
      const dst = this.workload(e.to);
      if (src) push(this.fromNamespace, src.namespace, e);
      if (dst) push(this.toNamespace, dst.namespace, e);
      push(this.toNode, e.to, e);
    }
  }

  /** Shared services with an observed edge from or into `ns` (or a node in `ns`), in catalog order. */
  private sharedTouching(ns: string): SharedService[] {
    const touched = new Set<SharedService>();
    for (const e of this.edgesFromNamespace(ns)) for (const s of this.sharedByNode.get(e.to) ?? []) touched.add(s);
    for (const e of this.edgesToNamespace(ns)) {
      for (const s of this.sharedByNode.get(e.from) ?? []) touched.add(s);
      for (const s of this.sharedByNode.get(e.to) ?? []) touched.add(s);
    }
    return this.graph.shared.filter((s) => touched.has(s));
  }

  private readonly callsCache = new Map<SharedService, { ports: PortRef[]; byNamespace: Map<string, GraphEdge[]> }>();

  /** Edges into a callee shared service, by the caller's namespace, and the ports its exception opens. */
  private callsTo(s: SharedService): { ports: PortRef[]; byNamespace: Map<string, GraphEdge[]> } {
    let calls = this.callsCache.get(s);
    if (!calls) {
      const edges = this.edgesToNodes(s.nodes);
      const byNamespace = new Map<string, GraphEdge[]>();
      for (const e of edges) {
        const ns = this.workload(e.from)?.namespace;
        if (!ns) continue;
        const list = byNamespace.get(ns);
        if (list) list.push(e);
        else byNamespace.set(ns, [e]);
      }
      calls = { ports: this.sharedPorts(s, edges), byNamespace };
      this.callsCache.set(s, calls);
    }
    return calls;
  }

  private edgesFromNamespace(ns: string): GraphEdge[] {
    return this.fromNamespace.get(ns) ?? [];
  }

  private edgesToNamespace(ns: string): GraphEdge[] {
    return this.toNamespace.get(ns) ?? [];
  }

  private edgesToNodes(ids: Iterable<string>): GraphEdge[] {
    return [...ids].flatMap((id) => this.toNode.get(id) ?? []);
  }

  plan(): PolicyPlan {
    const namespaces: NamespacePlan[] = [];
    for (const ns of this.graph.namespaces) namespaces.push(this.planNamespace(ns));
    for (const edge of this.graph.unaddressed) {
      this.notAllowed.set(`${edgeKey(edge)}|${NO_ADDRESS}`, { edge, reason: NO_ADDRESS });
    }
    this.reportSeenAddresses();
    return {
      namespaces,
      notAllowed: [...this.notAllowed.values()].sort(
        (a, b) => cmp(edgeKey(a.edge), edgeKey(b.edge)) || cmp(a.reason, b.reason),
      ),
      notices: this.notices,
    };
  }

  private node(id: string): GraphNode {
    return this.graph.nodes.get(id) as GraphNode;
  }

  private workload(id: string): WorkloadNode | undefined {
    const n = this.graph.nodes.get(id);
    return n?.type === "workload" ? n : undefined;
  }

  private planNamespace(ns: string): NamespacePlan {
    const names = new NameAllocator();
    const policies: PolicyIntent[] = [];
    const add = (p: Omit<PolicyIntent, "name" | "namespace">, wanted: string, identity: string) =>
      policies.push({ ...p, name: names.allocate(wanted, identity), namespace: ns });

    add(
      {
        purpose: "default-deny",
        description: "deny all ingress and egress not allowed by another policy",
        podSelector: {},
        ingress: [],
        egress: [],
        evidence: [],
      },
      "default-deny",
      "default-deny",
    );
    const dns = this.dnsPolicy(ns);
    add(dns, "allow-dns", "allow-dns");
    for (const d of this.dnsIngressPolicies(ns))
      add(
        d.policy,
        `allow-dns-to-${this.node(d.id).type === "workload" ? (this.node(d.id) as WorkloadNode).name : "resolver"}`,
        d.id,
      );
    for (const s of this.sharedTouching(ns)) {
      if (s.role === "callee") {
        const egress = this.sharedEgress(ns, s);
        if (egress) add(egress, `allow-egress-to-${s.name}`, `shared-egress:${s.name}`);
        const ingress = this.sharedCalleeIngress(ns, s);
        if (ingress) add(ingress, `allow-ingress-to-${s.name}`, `shared-ingress:${s.name}`);
      } else if (s.role === "caller") {
        const ingress = this.sharedCallerIngress(ns, s);
        if (ingress) add(ingress, `allow-ingress-from-${s.name}`, `shared-caller:${s.name}`);
      }
    }
    const fixed = policies.length;
    for (const f of this.flowPolicies(ns)) add(f.policy, f.wanted, f.identity);
    const flows = policies.splice(fixed).sort((a, b) => cmp(a.name, b.name));
    return { namespace: ns, policies: [...policies, ...flows] };
  }

  // ---- DNS ----

  private dnsPolicy(ns: string): Omit<PolicyIntent, "name" | "namespace"> {
    const peers: Peer[] = [];
    const evidence: GraphEdge[] = [];
    for (const id of [...this.dnsNodes].sort(cmp)) {
      const peer = this.peerFor(id, ns);
      if (peer) peers.push(...peer);
    }
    for (const e of this.edgesFromNamespace(ns)) {
      if (!this.dnsNodes.has(e.to) || e.port !== 53) continue;
      evidence.push(e);
      this.covered.egress.add(edgeKey(e));
    }
    const usable = dedupePeers(peers);
    return {
      purpose: "dns",
      description:
        usable.length > 0
          ? "DNS to the observed cluster resolvers (UDP and TCP 53)"
          : "DNS to kube-system/kube-dns (no resolver observed; the Kubernetes default)",
      sharedService: "cluster-dns",
      podSelector: {},
      egress: [{ peers: usable.length > 0 ? usable : [DEFAULT_DNS_PEER], ports: DNS_PORTS }],
      evidence,
    };
  }

  /** The resolvers themselves, when their namespace is in scope: DNS from every namespace and node. */
  private dnsIngressPolicies(ns: string): Array<{ policy: Omit<PolicyIntent, "name" | "namespace">; id: string }> {
    const resolvers = [...this.dnsNodes]
      .sort(cmp)
      .map((id) => this.workload(id))
      .filter((w): w is WorkloadNode => w?.namespace === ns && Object.keys(w.selector.matchLabels).length > 0);
    return resolvers.map((w) => {
      const evidence = this.edgesToNodes([w.id]).filter((e) => e.port === 53);
      for (const e of evidence) this.covered.ingress.add(edgeKey(e));
      return {
        id: w.id,
        policy: {
          purpose: "dns",
          description: `DNS service ${w.id}: queries from every namespace and node`,
          sharedService: "cluster-dns",
          podSelector: w.selector.matchLabels,
          ingress: [{ peers: [{ kind: "all-namespaces", podSelector: {} }, ...this.nodePeers()], ports: DNS_PORTS }],
          evidence,
        },
      };
    });
  }

  // ---- shared services ----

  private sharedPorts(s: SharedService, edges: GraphEdge[]): PortRef[] {
    if (s.ports.length > 0) return s.ports.filter((p) => PORT_PROTOCOLS.has(p.protocol)) as PortRef[];
    return mergePorts(edges);
  }

  private sharedEgress(ns: string, s: SharedService): Omit<PolicyIntent, "name" | "namespace"> | undefined {
    const calls = this.callsTo(s);
    const evidence = calls.byNamespace.get(ns) ?? [];
    if (evidence.length === 0) return undefined;
    const ports = calls.ports;
    const inPorts = evidence.filter((e) => ports.some((p) => p.protocol === e.protocol && p.port === e.port));
    if (inPorts.length === 0) return undefined;
    const peers = dedupePeers(s.nodes.flatMap((id) => this.peerFor(id, ns) ?? []));
    if (peers.length === 0) return undefined;
    for (const e of inPorts) this.covered.egress.add(edgeKey(e));
    return {
      purpose: "shared",
      description: `${s.origin === "detected" ? "detected shared service" : "shared service"} ${s.name}: ${s.description}`,
      sharedService: s.name,
      podSelector: {},
      egress: [{ peers, ports }],
      evidence: inPorts,
    };
  }

  private sharedCalleeIngress(ns: string, s: SharedService): Omit<PolicyIntent, "name" | "namespace"> | undefined {
    const targets = s.nodes.map((id) => this.workload(id)).filter((w) => w?.namespace === ns) as WorkloadNode[];
    const selectable = targets.filter((w) => Object.keys(w.selector.matchLabels).length > 0);
    if (selectable.length !== 1) return undefined;
    const target = selectable[0] as WorkloadNode;
    const all = this.edgesToNodes([target.id]);
    const ports = this.sharedPorts(s, all);
    const evidence = all.filter(
      (e) => this.workload(e.from) !== undefined && ports.some((p) => p.protocol === e.protocol && p.port === e.port),
    );
    if (evidence.length === 0) return undefined;
    const callerNamespaces = [...new Set(evidence.map((e) => (this.workload(e.from) as WorkloadNode).namespace))].sort(
      cmp,
    );
    for (const e of evidence) this.covered.ingress.add(edgeKey(e));
    return {
      purpose: "shared",
      description: `shared service ${s.name}: calls from every pod of ${callerNamespaces.join(", ")}`,
      sharedService: s.name,
      podSelector: target.selector.matchLabels,
      ingress: [
        {
          peers: callerNamespaces.map((n) => ({ kind: "pods", namespace: n, podSelector: {} }) as Peer),
          ports,
        },
      ],
      evidence,
    };
  }

  private sharedCallerIngress(ns: string, s: SharedService): Omit<PolicyIntent, "name" | "namespace"> | undefined {
    const nodes = new Set(s.nodes);
    const evidence = this.edgesToNamespace(ns).filter((e) => nodes.has(e.from));
    const ports = this.sharedPorts(s, evidence);
    const inPorts = evidence.filter((e) => ports.some((p) => p.protocol === e.protocol && p.port === e.port));
    if (inPorts.length === 0) return undefined;
    const peers = dedupePeers(s.nodes.flatMap((id) => this.peerFor(id, ns) ?? []));
    if (peers.length === 0) return undefined;
    for (const e of inPorts) this.covered.ingress.add(edgeKey(e));
    return {
      purpose: "shared",
      description: `shared service ${s.name}: ${s.description}`,
      sharedService: s.name,
      podSelector: {},
      ingress: [{ peers, ports }],
      evidence: inPorts,
    };
  }

  // ---- one policy per observed flow ----

  private flowPolicies(
    ns: string,
  ): Array<{ policy: Omit<PolicyIntent, "name" | "namespace">; wanted: string; identity: string }> {
    const groups = new Map<string, { half: Half; subject: WorkloadNode; peerId: string; edges: GraphEdge[] }>();
    const push = (half: Half, subject: WorkloadNode, peerId: string, e: GraphEdge) => {
      const key = `${half}|${subject.id}|${peerId}`;
      const g = groups.get(key) ?? { half, subject, peerId, edges: [] };
      g.edges.push(e);
      groups.set(key, g);
    };
    for (const e of this.edgesFromNamespace(ns)) {
      const src = this.workload(e.from) as WorkloadNode;
      if (src.inScope && !this.covered.egress.has(edgeKey(e)) && this.expressible(e, src, "egress")) {
        push("egress", src, this.peerGroup(e.to), e);
      }
    }
    for (const e of this.edgesToNamespace(ns)) {
      const dst = this.workload(e.to) as WorkloadNode;
      if (dst.inScope && !this.covered.ingress.has(edgeKey(e)) && this.expressible(e, dst, "ingress")) {
        push("ingress", dst, this.peerGroup(e.from), e);
      }
    }
    const out: Array<{ policy: Omit<PolicyIntent, "name" | "namespace">; wanted: string; identity: string }> = [];
    for (const g of [...groups.values()].sort(
      (a, b) => cmp(a.half, b.half) || cmp(a.subject.id, b.subject.id) || cmp(a.peerId, b.peerId),
    )) {
      const peerLabel = this.peerLabel(g.peerId, ns);
      const subjectLabel = g.subject.name;
      const wanted =
        g.half === "ingress" ? `allow-${peerLabel}-to-${subjectLabel}` : `allow-${subjectLabel}-to-${peerLabel}-egress`;
      const rules = this.rulesFor(g.peerId, g.edges, ns, g.half);
      if (rules.length === 0) continue;
      const sorted = [...g.edges].sort((a, b) => cmp(edgeKey(a), edgeKey(b)));
      out.push({
        policy: {
          purpose: "flow",
          description:
            g.half === "ingress"
              ? `${this.describe(g.peerId)} may connect to ${g.subject.id}`
              : `${g.subject.id} may connect to ${this.describe(g.peerId)}`,
          podSelector: g.subject.selector.matchLabels,
          [g.half]: rules,
          evidence: sorted,
        },
        wanted,
        identity: `${g.half}|${g.subject.id}|${g.peerId}`,
      });
    }
    return out;
  }

  private expressible(e: GraphEdge, subject: WorkloadNode, half: Half): boolean {
    const reject = (reason: string) => {
      this.notAllowed.set(`${edgeKey(e)}|${reason}`, { edge: e, reason });
      return false;
    };
    if (!PORT_PROTOCOLS.has(e.protocol)) {
      return reject(`${e.protocol} cannot be expressed in a NetworkPolicy without allowing every port`);
    }
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
      return reject(`port ${e.port} is not a valid destination port`);
    }
    // No rule can select it: the proof finds the connection denied as unselectable, and generate
    // leaves that direction of the namespace un-isolated (synth/sound.ts) unless --accept-denied.
    if (Object.keys(subject.selector.matchLabels).length === 0) return false;
    const peerId = half === "ingress" ? e.from : e.to;
    const peer = this.graph.nodes.get(peerId);
    // A store written before ingest checked every value may hold one that is not an address.
    if (peer?.type === "external" && !isIp(peer.ip)) return reject(`${JSON.stringify(peer.ip)} is not an IP address`);
    if (peer?.type === "external" && isMetadataIp(peer.ip) && !this.options.allowMetadata) {
      return reject(`cloud metadata address ${peer.ip} (pass --allow-metadata to allow it)`);
    }
    return true;
  }

  /** External peers of one workload share one policy; every other node is its own group. */
  private peerGroup(id: string): string {
    return this.node(id).type === "external" ? "external" : id;
  }

  private peerLabel(peerId: string, ns: string): string {
    if (peerId === "external") return "external";
    const n = this.node(peerId);
    if (n.type === "workload") return n.namespace === ns ? n.name : `${n.namespace}-${n.name}`;
    if (n.type === "entity") return n.entity;
    return "external";
  }

  private describe(peerId: string): string {
    if (peerId === "external") return "external addresses";
    const n = this.node(peerId);
    if (n.type === "workload" && Object.keys(n.selector.matchLabels).length === 0) {
      return `${n.id} (no stable labels: every pod of namespace ${n.namespace} stands for it)`;
    }
    return n.type === "entity" ? `entity ${n.entity}` : n.id;
  }

  private rulesFor(peerId: string, edges: GraphEdge[], ns: string, half: Half): Rule[] {
    if (peerId !== "external") {
      const peers = this.peerFor(peerId, ns);
      if (!peers || peers.length === 0) return [];
      return [{ peers, ports: mergePorts(edges) }];
    }
    // External: addresses widened to the prefix floor; blocks with the same ports share a rule.
    const blocks = new Map<string, { names: Set<string>; ports: Map<string, PortRef> }>();
    for (const e of edges) {
      const n = this.node(half === "egress" ? e.to : e.from);
      if (n.type !== "external") continue;
      const cidr = widenIp(n.ip, this.options.cidrPrefixV4, this.options.cidrPrefixV6);
      const b = blocks.get(cidr) ?? { names: new Set<string>(), ports: new Map<string, PortRef>() };
      for (const d of n.dnsNames) b.names.add(d);
      b.ports.set(`${e.protocol}/${e.port}`, { protocol: e.protocol as PortRef["protocol"], port: e.port });
      blocks.set(cidr, b);
    }
    const byPorts = new Map<string, { ports: PortRef[]; peers: IpPeer[] }>();
    for (const [cidr, b] of sortedByCidr([...blocks], ([c]) => c)) {
      const ports = sortPorts([...b.ports.values()]);
      const key = ports.map((p) => `${p.protocol}/${p.port}`).join(",");
      const r = byPorts.get(key) ?? { ports, peers: [] };
      const peer: IpPeer = { kind: "ip", cidr, entity: "world", dnsNames: [...b.names].sort(cmp) };
      const except = this.options.allowMetadata ? [] : metadataInside(cidr);
      if (except.length > 0) peer.except = except;
      r.peers.push(peer);
      byPorts.set(key, r);
    }
    return [...byPorts.entries()].sort(([a], [b]) => cmp(a, b)).map(([, r]) => ({ peers: r.peers, ports: r.ports }));
  }

  /** The peers that stand for a node, seen from a policy in `ns`. */
  private peerFor(id: string, ns: string): Peer[] | undefined {
    const n = this.node(id);
    if (n.type === "workload") {
      // The narrowest stable superset of a workload that cannot be selected: its namespace.
      if (Object.keys(n.selector.matchLabels).length === 0) {
        return [
          n.namespace === ns
            ? { kind: "pods", podSelector: {} }
            : { kind: "pods", namespace: n.namespace, podSelector: {} },
        ];
      }
      return [
        n.namespace === ns
          ? { kind: "pods", podSelector: n.selector.matchLabels }
          : { kind: "pods", namespace: n.namespace, podSelector: n.selector.matchLabels },
      ];
    }
    if (n.type === "entity") {
      if (n.entity === "nodes") return this.nodePeers();
      const entity = n.entity === "kube-apiserver" ? "kube-apiserver" : "other";
      return n.ips.filter(isIp).map((ip) => ({ kind: "ip", cidr: hostCidr(ip), entity, dnsNames: [] }) as IpPeer);
    }
    const entity = n.ip === "169.254.20.10" ? "link-local-dns" : "world";
    return [{ kind: "ip", cidr: hostCidr(n.ip), entity, dnsNames: n.dnsNames }];
  }

  private nodePeers(): IpPeer[] {
    const nodes = this.graph.nodes.get("entity:nodes");
    const seen = nodes?.type === "entity" && nodes.seenAs.length > 0 ? { seenAs: nodes.seenAs } : {};
    if (this.options.nodeCidrs.length > 0) {
      return this.options.nodeCidrs.map((cidr) => ({ kind: "ip", cidr, entity: "nodes", dnsNames: [], ...seen }));
    }
    if (nodes?.type !== "entity") return [];
    return sortedByCidr(
      nodes.ips
        .filter(isIp)
        .map((ip) => ({ kind: "ip", cidr: hostCidr(ip), entity: "nodes", dnsNames: [], ...seen }) as IpPeer),
      (peer) => peer.cidr,
    );
  }

  private reportSeenAddresses(): void {
    const seen = [...this.graph.nodes.values()].filter((n) => n.type === "external" && isMetadataIp(n.ip));
    for (const n of seen) {
      const ip = n.type === "external" ? n.ip : "";
      this.notices.push({
        code: "metadata-seen",
        message: this.options.allowMetadata
          ? `cloud metadata address ${ip} was observed and is allowed (--allow-metadata)`
          : `cloud metadata address ${ip} was observed and is NOT allowed (pass --allow-metadata to allow it)`,
      });
    }
    const zero = [...this.graph.nodes.values()].some(
      (n) => n.type === "external" && (n.ip === "0.0.0.0" || n.ip === "::"),
    );
    const widest = this.options.cidrPrefixV4 === 0 || this.options.cidrPrefixV6 === 0;
    if (zero || widest) {
      this.notices.push({
        code: "any-address",
        message: widest
          ? "--cidr-prefix 0 widens external peers to every address (0.0.0.0/0 or ::/0)"
          : "a flow to the unspecified address 0.0.0.0 or :: was observed",
      });
    }
  }
}

export function mergePorts(edges: GraphEdge[]): PortRef[] {
  const seen = new Map<string, PortRef>();
  for (const e of edges) {
    if (!PORT_PROTOCOLS.has(e.protocol) || e.port < 1) continue;
    seen.set(`${e.protocol}/${e.port}`, { protocol: e.protocol as PortRef["protocol"], port: e.port });
  }
  return sortPorts([...seen.values()]);
}

export function sortPorts(ports: PortRef[]): PortRef[] {
  return ports.sort((a, b) => cmp(a.protocol, b.protocol) || a.port - b.port);
}

function dedupePeers(peers: Peer[]): Peer[] {
  const seen = new Map<string, Peer>();
  for (const p of peers) seen.set(JSON.stringify(p), p);
  return [...seen.values()];
}
