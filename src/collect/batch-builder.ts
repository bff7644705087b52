import {
  BAD_LINES_KEPT_PER_BATCH,
  type Batch,
  type Contribution,
  canonicalLabels,
  DEFAULT_CLUSTER,
  type EdgeAggregate,
  type EndpointRef,
  emptyFlowIds,
  endpointKey,
  type LostEventsRecord,
  type NamespaceAggregate,
  type PodAggregate,
  replacesLabels,
  type SeenSpan,
  type ServiceAggregate,
  sealFlowIds,
} from "../model/batch.js";
import { countHour } from "../model/edge-hours.js";
import { ALLOWED_VERDICTS, type Flow, type FlowEndpoint, flowCluster, IDENTITY_KIND } from "../model/flow.js";
import { flowRole } from "../model/initiator.js";

export function endpointRef(ep: FlowEndpoint, cluster: string): EndpointRef {
  if (ep.workload && ep.namespace) {
    return {
      cluster,
      type: "workload",
      namespace: ep.namespace,
      kind: ep.workload.kind,
      name: ep.workload.name,
      ip: "",
    };
  }
  if (ep.entity && ep.entity !== "world") {
    return { cluster, type: "entity", namespace: "", kind: "", name: ep.entity, ip: ep.ip ?? "" };
  }
  if (ep.entity === "world") {
    if (ep.peer) {
      const namespace = ep.peer.kind === "NetworkSet" ? (ep.namespace ?? "") : "";
      return { cluster, type: "external", namespace, kind: ep.peer.kind, name: ep.peer.name, ip: "" };
    }
    return { cluster, type: "external", namespace: "", kind: "", name: "", ip: ep.ip ?? "" };
  }
  return { cluster, type: "unknown", namespace: ep.namespace ?? "", kind: "", name: "", ip: ep.ip ?? "" };
}

const canonicalCache = new WeakMap<Record<string, string>, string>();

/** canonicalLabels, memoized per label object (decoders share label objects between flows). */
function canonicalLabelsCached(labels: Record<string, string>): string {
  let text = canonicalCache.get(labels);
  if (text === undefined) {
    text = canonicalLabels(labels);
    canonicalCache.set(labels, text);
  }
  return text;
}

function widen(span: SeenSpan, time: number, count: number): void {
  if (time < span.first) span.first = time;
  if (time > span.last) span.last = time;
  span.count += count;
}

interface EndpointState {
  id: number;
  ref: EndpointRef;
  seen: { ref: EndpointRef } & SeenSpan;
  namespace: { entry: { name: string; labels: string; first: number; last: number }; labels: string } | undefined;
  pod: { entry: PodAggregate; labels: string } | undefined;
}

/** Ids below this make a pair number that stays a small integer (a fast Map key). */
const PAIR_ID_LIMIT = 32768;
/** Service indexes below this make a number of an edge and Service that stays an exact integer. */
const SIMPLE_SERVICE_LIMIT = 1 << 22;

/**
 * Edges listed per endpoint pair: a pair has a few (ports, verdicts), and its further edges are
 * found by their key string. Unbounded, a port scan (one pair, a new port per flow) made each flow
 * compare with every port of its pair in the batch so far: 6 µs a line, quadratic in a chunk's lines.
 */
const EDGES_LISTED_PER_PAIR = 16;

/** One edge of an endpoint pair, with the Service aggregate of flows to `svc`. */
interface PairEdge {
  port: number;
  protocol: Flow["protocol"];
  verdict: Flow["verdict"];
  system: Flow["sourceSystem"];
  svc: Flow["destination"]["service"];
  edge: EdgeAggregate;
  service: ServiceAggregate | undefined;
}

/** What a flow adds to in a batch, apart from its time and count. */
interface PreparedFlow {
  src: EndpointState;
  dst: EndpointState;
  dnsNames: boolean;
  /** Undefined for replies, which count only as replies. */
  edge: EdgeAggregate | undefined;
  service: ServiceAggregate | undefined;
}

/** Adds a one-end report to an edge: `count` grows only when this end now has the larger total. */
function countReported(edge: EdgeAggregate, reporter: "src" | "dst", time: number, count: number): void {
  const before = Math.max(edge.srcReported, edge.dstReported);
  if (reporter === "src") edge.srcReported += count;
  else edge.dstReported += count;
  widen(edge, time, Math.max(edge.srcReported, edge.dstReported) - before);
}

/**
 * The per-chunk batcher: folds the flows of one chunk of input (a worker's lines, a collector's
 * messages) into one `Batch`, the contract the store applies (model/batch.ts).
 */
export class BatchBuilder {
  /** `clusterFlag`: the cluster of every flow (`--cluster`); else each flow's own, else DEFAULT_CLUSTER. */
  constructor(private readonly clusterFlag?: string) {}

  flows = 0;
  replies = 0;
  skipped = 0;
  bad = 0;
  private readonly badLines: Array<{ line: number; reason: string }> = [];
  private readonly lost: LostEventsRecord[] = [];
  private readonly endpoints = new Map<string, { ref: EndpointRef } & SeenSpan>();
  private readonly namespaces = new Map<string, NamespaceAggregate>();
  private readonly pods = new Map<string, PodAggregate>();
  private readonly edges = new Map<string, EdgeAggregate>();
  private readonly dnsNames = new Map<string, { ip: string; name: string } & SeenSpan>();
  private readonly services = new Map<string, ServiceAggregate>();

  get isEmpty(): boolean {
    return this.flows === 0 && this.skipped === 0 && this.bad === 0 && this.lost.length === 0;
  }

  addBad(line: number, reason: string): void {
    this.bad++;
    if (this.badLines.length < BAD_LINES_KEPT_PER_BATCH) this.badLines.push({ line, reason });
  }

  /**
   * A line whose flow was kept but changed (labels left out): listed with the bad lines, so it is
   * shown and stored with its reason, without counting as a bad line.
   */
  /** Bad lines and notes kept so far (at most BAD_LINES_KEPT_PER_BATCH), in the order they came. */
  get keptLines(): number {
    return this.badLines.length;
  }

  addNote(line: number, reason: string): void {
    if (this.badLines.length < BAD_LINES_KEPT_PER_BATCH) this.badLines.push({ line, reason });
  }

  addSkipped(): void {
    this.skipped++;
  }

  addLost(lost: LostEventsRecord): void {
    this.lost.push(lost);
  }

  /** `seenUntil`: the flows are a sum over `flow.time`..`seenUntil` (a Goldmane List record). */
  addFlow(flow: Flow, seenUntil?: number): void {
    this.apply(this.prepare(flow), flow, flow.time, flow.count, flow.uuid, seenUntil);
  }

  /**
   * The same as `addFlow({ ...template, time, count })`, for decoders that recognise a record they
   * have seen before: the endpoints, edge and service are looked up once per template and batch.
   */
  addRepeat(template: Flow, time: number, count: number, uuid?: string): void {
    let prepared = this.preparedTemplates.get(template);
    if (!prepared) {
      prepared = this.prepare(template);
      this.preparedTemplates.set(template, prepared);
    }
    this.apply(prepared, template, time, count, uuid);
  }

  private readonly flowIds = emptyFlowIds();
  /** The contribution of each flow object (a template's repeats share theirs). */
  private readonly contributionOf = new WeakMap<Flow, number>();
  private readonly contributionIds = new Map<string, number>();
  private readonly edgeIndex = new Map<EdgeAggregate, number>();
  private readonly serviceIndex = new Map<ServiceAggregate, number>();

  private readonly preparedTemplates = new WeakMap<Flow, PreparedFlow>();

  /**
   * The edges (and Service aggregates) of each endpoint pair seen in this batch, to find a flow's
   * without building its key strings: pairs have few of them.
   */
  private readonly edgesByPair = new Map<number, PairEdge[]>();

  /** The aggregates a flow adds to, created (in first-seen order) when new. */
  private prepare(flow: Flow): PreparedFlow {
    const cluster = this.clusterFlag ?? flowCluster(flow) ?? DEFAULT_CLUSTER;
    const src = this.stateOf(flow.source, cluster);
    const dst = this.stateOf(flow.destination, cluster);
    const dnsNames = flow.source.dnsNames.length > 0 || flow.destination.dnsNames.length > 0 || !!flow.dnsAnswer;
    if (flowRole(flow) === "reply") return { src, dst, dnsNames, edge: undefined, service: undefined };
    const port = flow.protocol === "ICMPv4" || flow.protocol === "ICMPv6" ? 0 : (flow.destinationPort ?? 0);
    const svc = flow.destination.service;
    const pair = src.id < PAIR_ID_LIMIT && dst.id < PAIR_ID_LIMIT ? src.id * PAIR_ID_LIMIT + dst.id : -1;
    const known = pair === -1 ? undefined : this.edgesByPair.get(pair);
    if (known) {
      for (const e of known) {
        if (
          e.port === port &&
          e.protocol === flow.protocol &&
          e.verdict === flow.verdict &&
          e.system === flow.sourceSystem &&
          e.svc === svc
        ) {
          return { src, dst, dnsNames, edge: e.edge, service: e.service };
        }
      }
    }
    // Endpoints have small per-batch ids: the edge key stays short whatever the names.
    const key = `${src.id}>${dst.id}>${flow.protocol}>${port}>${flow.verdict}>${flow.sourceSystem}`;
    let edge = this.edges.get(key);
    if (!edge) {
      edge = {
        src: src.ref,
        dst: dst.ref,
        protocol: flow.protocol,
        port,
        verdict: flow.verdict,
        system: flow.sourceSystem,
        dropReason: "",
        policies: {},
        first: Number.POSITIVE_INFINITY,
        last: Number.NEGATIVE_INFINITY,
        count: 0,
        srcReported: 0,
        dstReported: 0,
      };
      this.edgeIndex.set(edge, this.edges.size);
      this.edges.set(key, edge);
    }
    let service: ServiceAggregate | undefined;
    if (svc && ALLOWED_VERDICTS.has(flow.verdict) && dst.ref.type === "workload") {
      const skey = `${svc.namespace}/${svc.name}>${dst.id}>${flow.protocol}>${port}`;
      service = this.services.get(skey);
      if (!service) {
        service = {
          ...svc,
          endpoint: dst.ref,
          protocol: flow.protocol,
          port,
          first: Number.POSITIVE_INFINITY,
          last: Number.NEGATIVE_INFINITY,
          count: 0,
        };
        this.serviceIndex.set(service, this.services.size);
        this.services.set(skey, service);
      }
    }
    if (pair !== -1) {
      const entry = {
        port,
        protocol: flow.protocol,
        verdict: flow.verdict,
        system: flow.sourceSystem,
        svc,
        edge,
        service,
      };
      if (!known) this.edgesByPair.set(pair, [entry]);
      else if (known.length < EDGES_LISTED_PER_PAIR) known.push(entry);
    }
    return { src, dst, dnsNames, edge, service };
  }

  private apply(
    prepared: PreparedFlow,
    flow: Flow,
    time: number,
    count: number,
    uuid: string | undefined,
    seenUntil?: number,
  ): void {
    this.flows += count;
    this.observeEndpoint(prepared.src, time, count);
    this.observeEndpoint(prepared.dst, time, count);
    if (prepared.dnsNames) this.observeDnsNames(flow, time);
    if (uuid !== undefined) this.recordFlowId(prepared, flow, time, count, uuid);
    const edge = prepared.edge;
    if (!edge) {
      this.replies += count;
      return;
    }
    if (flow.reporter) countReported(edge, flow.reporter, time, count);
    else widen(edge, time, count);
    countHour(edge, time, count, flow.reporter, seenUntil);
    if (flow.dropReason) edge.dropReason = flow.dropReason;
    if (flow.policies) {
      for (const p of flow.policies) edge.policies[p] = (edge.policies[p] ?? 0) + count;
    }
    if (prepared.service) widen(prepared.service, time, count);
  }

  /**
   * Per endpoint object (decoders share them between flows): its aggregates in this batch. A Map,
   * not a WeakMap: a builder lives for one batch, and weak entries cost the collector more.
   */
  private readonly endpointStates = new Map<string, Map<FlowEndpoint, EndpointState>>();
  private lastStates: { cluster: string; states: Map<FlowEndpoint, EndpointState> } | undefined;
  private readonly statesByKey = new Map<string, EndpointState>();

  private statesOf(cluster: string): Map<FlowEndpoint, EndpointState> {
    if (this.lastStates?.cluster === cluster) return this.lastStates.states;
    let states = this.endpointStates.get(cluster);
    if (!states) {
      states = new Map();
      this.endpointStates.set(cluster, states);
    }
    this.lastStates = { cluster, states };
    return states;
  }

  private stateOf(ep: FlowEndpoint, cluster: string): EndpointState {
    const states = this.statesOf(cluster);
    let state = states.get(ep);
    if (state) return state;
    const probe = endpointRef(ep, cluster);
    const key = endpointKey(probe);
    state = this.statesByKey.get(key);
    if (!state) {
      const seen = { ref: probe, first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY, count: 0 };
      this.endpoints.set(key, seen);
      state = { id: this.statesByKey.size, ref: probe, seen, namespace: undefined, pod: undefined };
      this.statesByKey.set(key, state);
    }
    const endpointState = state;
    const ref = endpointState.ref;
    if (ep.namespace) {
      const nskey = `${cluster}|${ep.namespace}`;
      let ns = this.namespaces.get(nskey);
      if (!ns) {
        ns = {
          cluster,
          name: ep.namespace,
          labels: "",
          first: Number.POSITIVE_INFINITY,
          last: Number.NEGATIVE_INFINITY,
        };
        this.namespaces.set(nskey, ns);
      }
      endpointState.namespace = { entry: ns, labels: canonicalLabelsCached(ep.namespaceLabels) };
    }
    // Pods a source names only as a group (Calico's `frontend-755cdc7957-*`) and peers known only
    // by identity labels keep their label sets as pseudo-pods (named after the group, which holds
    // a `*`, or the identity), so the graph can compute and merge selectors from them.
    const podName =
      ep.podName ?? ep.podGroup ?? (ref.kind === IDENTITY_KIND ? `identity-${ep.identity ?? 0}` : undefined);
    if (podName && ep.namespace && ref.type === "workload") {
      const pkey = `${cluster}|${ep.namespace}/${podName}`;
      let pod = this.pods.get(pkey);
      if (!pod) {
        pod = {
          namespace: ep.namespace,
          name: podName,
          endpoint: ref,
          labels: "",
          serviceAccount: ep.serviceAccount ?? "",
          first: Number.POSITIVE_INFINITY,
          last: Number.NEGATIVE_INFINITY,
        };
        this.pods.set(pkey, pod);
      }
      endpointState.pod = { entry: pod, labels: canonicalLabelsCached(ep.labels) };
    } else endpointState.pod = undefined;
    // Namespace and pod entries differ per endpoint object (labels), so the state is per object.
    state = { ...endpointState };
    states.set(ep, state);
    return state;
  }

  private observeEndpoint(state: EndpointState, time: number, count: number): void {
    widen(state.seen, time, count);
    const ns = state.namespace;
    if (ns) {
      const entry = ns.entry;
      if (time < entry.first) entry.first = time;
      if (time >= entry.last) {
        entry.last = time;
        if (ns.labels !== "{}") entry.labels = ns.labels;
      }
    }
    const pod = state.pod;
    if (pod) {
      const entry = pod.entry;
      if (time < entry.first) entry.first = time;
      const newer = time >= entry.last;
      if (newer) entry.last = time;
      if (replacesLabels(entry.labels, pod.labels, newer)) entry.labels = pod.labels;
    }
  }

  private recordFlowId(prepared: PreparedFlow, flow: Flow, time: number, count: number, uuid: string): void {
    const ids = this.flowIds;
    let part = this.simplePart(prepared, flow) ?? this.contributionOf.get(flow);
    if (part === undefined) {
      const edge = prepared.edge ? (this.edgeIndex.get(prepared.edge) ?? -1) : -1;
      const contribution: Contribution = {
        src: prepared.src.id,
        dst: prepared.dst.id,
        edge,
        service: prepared.service ? (this.serviceIndex.get(prepared.service) ?? -1) : -1,
        dnsNames: prepared.dnsNames ? this.dnsNameIndexes(flow) : [],
        policies: edge !== -1 && flow.policies ? [...flow.policies] : [],
      };
      part = this.partOf(contribution);
      this.contributionOf.set(flow, part);
    }
    ids.uuids.push(uuid);
    ids.times.push(time);
    ids.counts.push(count);
    ids.parts.push(part);
  }

  /** The index of a contribution: one entry per distinct one, whichever flows make it. */
  private partOf(contribution: Contribution): number {
    const key = `${contribution.src}>${contribution.dst}>${contribution.edge}>${contribution.service}>${contribution.dnsNames.join(",")}>${contribution.policies.join("\n")}`;
    let part = this.contributionIds.get(key);
    if (part === undefined) {
      part = this.flowIds.contributions.length;
      this.flowIds.contributions.push(contribution);
      this.contributionIds.set(key, part);
    }
    return part;
  }

  /** Parts of flows without DNS names or policies, by `simplePartKey`. */
  private readonly simpleParts = new Map<number, number>();

  /**
   * The part of a flow without DNS names or policies, which its edge and Service (or, for a
   * reply, its endpoint pair) decide: found by a number, without a key string or a per-flow entry.
   */
  private simplePart(prepared: PreparedFlow, flow: Flow): number | undefined {
    if (prepared.dnsNames || (prepared.edge && flow.policies && flow.policies.length > 0)) return undefined;
    const key = this.simplePartKey(prepared);
    if (key === undefined) return undefined;
    let part = this.simpleParts.get(key);
    if (part === undefined) {
      part = this.partOf({
        src: prepared.src.id,
        dst: prepared.dst.id,
        edge: prepared.edge ? (this.edgeIndex.get(prepared.edge) ?? -1) : -1,
        service: prepared.service ? (this.serviceIndex.get(prepared.service) ?? -1) : -1,
        dnsNames: [],
        policies: [],
      });
      this.simpleParts.set(key, part);
    }
    return part;
  }

  private simplePartKey(prepared: PreparedFlow): number | undefined {
    const { src, dst, edge, service } = prepared;
    if (!edge)
      return src.id < PAIR_ID_LIMIT && dst.id < PAIR_ID_LIMIT ? -1 - (src.id * PAIR_ID_LIMIT + dst.id) : undefined;
    const e = this.edgeIndex.get(edge);
    const s = service ? this.serviceIndex.get(service) : -1;
    if (e === undefined || s === undefined || s + 1 >= SIMPLE_SERVICE_LIMIT) return undefined;
    return e * SIMPLE_SERVICE_LIMIT + s + 1;
  }

  /** The DNS name entries a flow (already observed) added 1 to, as `observeDnsNames` adds them. */
  private dnsNameIndexes(flow: Flow): number[] {
    const indexes: number[] = [];
    const add = (ip: string | undefined, name: string) => {
      const at = ip ? this.dnsIndex.get(`${ip}|${name}`) : undefined;
      if (at !== undefined) indexes.push(at);
    };
    for (const name of flow.source.dnsNames) add(flow.source.ip, name);
    for (const name of flow.destination.dnsNames) add(flow.destination.ip, name);
    if (flow.dnsAnswer) for (const ip of flow.dnsAnswer.ips) add(ip, flow.dnsAnswer.query);
    return indexes;
  }

  private readonly dnsIndex = new Map<string, number>();

  private observeDnsNames(flow: Flow, time: number): void {
    const add = (ip: string | undefined, name: string) => {
      if (!ip) return;
      const key = `${ip}|${name}`;
      const known = this.dnsNames.get(key);
      if (known) widen(known, time, 1);
      else {
        this.dnsIndex.set(key, this.dnsNames.size);
        this.dnsNames.set(key, { ip, name, first: time, last: time, count: 1 });
      }
    };
    for (const name of flow.source.dnsNames) add(flow.source.ip, name);
    for (const name of flow.destination.dnsNames) add(flow.destination.ip, name);
    if (flow.dnsAnswer) for (const ip of flow.dnsAnswer.ips) add(ip, flow.dnsAnswer.query);
  }

  build(): Batch {
    return {
      flows: this.flows,
      replies: this.replies,
      skipped: this.skipped,
      bad: this.bad,
      badLines: this.badLines,
      lost: this.lost,
      endpoints: [...this.endpoints.values()],
      namespaces: [...this.namespaces.values()],
      pods: [...this.pods.values()],
      edges: [...this.edges.values()],
      dnsNames: [...this.dnsNames.values()],
      services: [...this.services.values()],
      ...(this.flowIds.uuids.length > 0 && { flowIds: sealFlowIds(this.flowIds) }),
    };
  }
}
