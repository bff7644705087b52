import type { Flow, FlowEndpoint } from "../model/flow.js";
import type { WavePolicy } from "./wave-policies.js";

/** One kind of flow that policy dropped or audited since the wave began, with the wave's policies it meets. */
export interface VerifyFinding {
  source: string;
  destination: string;
  protocol: string;
  port: number;
  verdict: string;
  dropReason: string;
  count: number;
  first: number;
  last: number;
  /** The wave's policies that isolate the side where the flow was stopped (`kind/namespace/name`). */
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
  if (ep.entity) return ep.ip ? `${ep.entity} (${ep.ip})` : ep.entity;
  const name = ep.dnsNames[0];
  return name ? `${name} (${ep.ip ?? "?"})` : (ep.ip ?? "unknown");
}

function selects(p: WavePolicy, ep: FlowEndpoint): boolean {
  return (
    ep.namespace !== undefined &&
    (p.namespace === "" || p.namespace === ep.namespace) &&
    (p.selects === undefined || p.selects(ep.labels))
  );
}

/** The wave's policies that isolate the side of the flow where it was stopped. */
export function matchPolicies(flow: Flow, policies: readonly WavePolicy[]): string[] {
  const byName = new Set(flow.policies ?? []);
  const atIngress = flow.direction !== "egress";
  const atEgress = flow.direction !== "ingress";
  return policies
    .filter(
      (p) =>
        byName.has(p.name) ||
        [...byName].some((n) => n.endsWith(`/${p.name}`) || n.includes(`|${p.name}|`)) ||
        (atIngress && p.ingress && selects(p, flow.destination)) ||
        (atEgress && p.egress && selects(p, flow.source)),
    )
    .map((p) => `${p.kind}/${p.namespace || "-"}/${p.name}`)
    .sort();
}

/** Collects the flows stopped by policy at or after `since`, grouped by source, destination, port and verdict. */
export class VerifyCollector {
  private readonly groups = new Map<string, VerifyFinding>();
  flowsSeen = 0;
  flowsSince = 0;

  constructor(
    private readonly since: number,
    private readonly policies: readonly WavePolicy[],
  ) {}

  add(flow: Flow): void {
    this.flowsSeen++;
    if (flow.time < this.since) return;
    this.flowsSince++;
    if (!isPolicyVerdict(flow)) return;
    const f = {
      source: endpointName(flow.source),
      destination: endpointName(flow.destination),
      protocol: flow.protocol,
      port: flow.destinationPort ?? 0,
      verdict: flow.verdict,
      dropReason: flow.dropReason ?? "",
    };
    const key = JSON.stringify(f);
    const g = this.groups.get(key);
    const policies = matchPolicies(flow, this.policies);
    if (g) {
      g.count += flow.count;
      g.first = Math.min(g.first, flow.time);
      g.last = Math.max(g.last, flow.time);
      g.policies = [...new Set([...g.policies, ...policies])].sort();
    } else {
      this.groups.set(key, { ...f, count: flow.count, first: flow.time, last: flow.time, policies });
    }
  }

  findings(): VerifyFinding[] {
    return [...this.groups.values()].sort(
      (a, b) => b.count - a.count || (a.source + a.destination < b.source + b.destination ? -1 : 1) || a.port - b.port,
    );
  }
}
