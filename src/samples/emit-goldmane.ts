import { type CalicoReport, type CalicoSide, calicoReports, intersectLabels } from "./calico-view.js";
import type { SimEvent } from "./scenario.js";

/**
 * Renders simulated connections as Goldmane flows in protobuf-JSON (what `grpcurl` prints and
 * exporters save; camelCase, int64 as strings, enums as names, zero values omitted): one flow per
 * key per 15-second window, merged across nodes, at the pod-prefix aggregation Felix always uses
 * with Goldmane (no IPs, no pod names, no source ports).
 */

const WINDOW_MS = 15_000;
const ENDPOINT_TYPES: Record<CalicoSide["type"], string> = { wep: "WorkloadEndpoint", net: "Network" };

interface Aggregate {
  report: CalicoReport;
  sourceLabels: string[];
  destLabels: string[];
  connections: number;
  bytesIn: number;
  bytesOut: number;
}

export class GoldmaneEmitter {
  private windowStart: number | undefined;
  private readonly flows = new Map<string, Aggregate>();

  lines(event: SimEvent): string[] {
    const start = Math.floor(event.time / WINDOW_MS) * WINDOW_MS;
    const out = this.windowStart !== undefined && start !== this.windowStart ? this.flush() : [];
    this.windowStart = start;
    for (const report of calicoReports(event)) {
      const key = [
        report.reporter,
        report.action,
        report.proto,
        report.source.type,
        report.source.namespace,
        report.source.nameAggr,
        report.dest.type,
        report.dest.namespace,
        report.dest.nameAggr,
        report.destPort,
      ].join(">");
      const known = this.flows.get(key);
      if (known) {
        known.sourceLabels = intersectLabels(known.sourceLabels, report.source.labels);
        known.destLabels = intersectLabels(known.destLabels, report.dest.labels);
        known.connections++;
        known.bytesOut += 180;
        known.bytesIn += report.action === "allow" ? 1200 : 0;
      } else {
        this.flows.set(key, {
          report,
          sourceLabels: report.source.labels,
          destLabels: report.dest.labels,
          connections: 1,
          bytesOut: 180,
          bytesIn: report.action === "allow" ? 1200 : 0,
        });
      }
    }
    return out;
  }

  flush(): string[] {
    if (this.windowStart === undefined) return [];
    const start = this.windowStart / 1000;
    const lines = [...this.flows.values()].map((a) => JSON.stringify(render(a, start)));
    this.flows.clear();
    return lines;
  }
}

function policyHit(r: CalicoReport): Record<string, string> {
  const namespace = r.reporter === "src" ? r.source.namespace : r.dest.namespace;
  if (r.action === "allow") {
    return { kind: "Profile", name: `kns.${namespace}`, tier: "__PROFILE__", action: "Allow" };
  }
  return {
    kind: "NetworkPolicy",
    namespace,
    name: `default-deny-${r.reporter === "src" ? "egress" : "ingress"}`,
    tier: "default",
    action: "Deny",
    ruleIndex: "-1",
  };
}

function render(a: Aggregate, start: number): Record<string, unknown> {
  const r = a.report;
  const key: Record<string, unknown> = {
    sourceName: r.source.nameAggr,
    sourceNamespace: r.source.namespace,
    sourceType: ENDPOINT_TYPES[r.source.type],
    destName: r.dest.nameAggr,
    destNamespace: r.dest.namespace,
    destType: ENDPOINT_TYPES[r.dest.type],
    destPort: String(r.destPort),
    destServiceName: r.service?.name ?? "-",
    destServiceNamespace: r.service?.namespace ?? "-",
    destServicePortName: r.service ? "http" : "-",
    proto: r.proto,
    reporter: r.reporter === "src" ? "Src" : "Dst",
    action: r.action === "allow" ? "Allow" : "Deny",
    policies: { enforcedPolicies: [policyHit(r)], pendingPolicies: [policyHit(r)] },
  };
  if (r.service) key.destServicePort = String(r.destPort);
  const flow: Record<string, unknown> = {
    Key: key,
    startTime: String(start),
    endTime: String(start + WINDOW_MS / 1000),
  };
  if (a.sourceLabels.length > 0) flow.sourceLabels = a.sourceLabels;
  if (a.destLabels.length > 0) flow.destLabels = a.destLabels;
  const packetsIn = a.bytesIn > 0 ? a.connections * 3 : 0;
  if (packetsIn > 0) flow.packetsIn = String(packetsIn);
  flow.packetsOut = String(a.connections * 3);
  if (a.bytesIn > 0) flow.bytesIn = String(a.bytesIn);
  flow.bytesOut = String(a.bytesOut);
  flow.numConnectionsStarted = String(a.connections);
  flow.numConnectionsCompleted = String(a.connections);
  flow.numConnectionsLive = String(a.connections);
  return flow;
}
