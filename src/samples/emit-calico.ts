import { type CalicoReport, type CalicoSide, calicoReports, intersectLabels } from "./calico-view.js";
import { Random } from "./random.js";
import type { SimEvent } from "./scenario.js";

/**
 * Renders simulated connections as Calico Enterprise flow-log lines (`flows.log`), the way Felix
 * writes them: one record per aggregation key per node per flush window, fields in Felix's
 * order. The aggregation level decides the key (0: 5-tuple; 1: no source port; 2: pod prefix, no
 * IPs or pod names; 3: also no destination port, denied only); EE's defaults are 2 for allowed
 * and 1 for denied flows. The `policies` field rotates through its three historical shapes by
 * window, so every shape appears in one file.
 */

export interface FlowLogOptions {
  allowedLevel: 0 | 1 | 2;
  deniedLevel: 0 | 1 | 2 | 3;
  flushMs: number;
}

export const EE_DEFAULTS: FlowLogOptions = { allowedLevel: 2, deniedLevel: 1, flushMs: 300_000 };

interface Aggregate {
  report: CalicoReport;
  sourceLabels: string[];
  destLabels: string[];
  flows: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

function sideKey(side: CalicoSide, level: number): string {
  return level >= 2
    ? `${side.type}|${side.namespace}|${side.nameAggr}`
    : `${side.type}|${side.namespace}|${side.nameAggr}|${side.name}|${side.ip}`;
}

function profile(namespace: string): string {
  return `__PROFILE__|__PROFILE__.kns.${namespace}`;
}

export class CalicoFlowLogEmitter {
  private readonly random: Random;
  private windowStart: number | undefined;
  private windowIndex = 0;
  private readonly records = new Map<string, Aggregate>();

  constructor(
    seed = 13,
    private readonly options: FlowLogOptions = EE_DEFAULTS,
  ) {
    this.random = new Random(seed);
  }

  lines(event: SimEvent): string[] {
    const out: string[] = [];
    const flush = this.options.flushMs;
    const start = Math.floor(event.time / flush) * flush;
    if (this.windowStart !== undefined && start !== this.windowStart) out.push(...this.flush());
    this.windowStart = start;
    for (const report of calicoReports(event)) this.add(report);
    return out;
  }

  private add(report: CalicoReport): void {
    const level = report.action === "allow" ? this.options.allowedLevel : this.options.deniedLevel;
    const key = [
      report.node,
      report.reporter,
      report.action,
      report.proto,
      sideKey(report.source, level),
      sideKey(report.dest, level),
      level === 0 ? report.sourcePort : "",
      level === 3 ? "" : report.destPort,
    ].join(">");
    const bytesOut = this.random.int(60, 4000);
    const bytesIn = report.action === "deny" ? 0 : this.random.int(60, 20000);
    const known = this.records.get(key);
    if (known) {
      known.sourceLabels = intersectLabels(known.sourceLabels, report.source.labels);
      known.destLabels = intersectLabels(known.destLabels, report.dest.labels);
      known.flows++;
      known.bytesIn += bytesIn;
      known.bytesOut += bytesOut;
      known.packetsIn += bytesIn > 0 ? 3 : 0;
      known.packetsOut += 3;
      return;
    }
    this.records.set(key, {
      report,
      sourceLabels: report.source.labels,
      destLabels: report.dest.labels,
      flows: 1,
      bytesIn,
      bytesOut,
      packetsIn: bytesIn > 0 ? 3 : 0,
      packetsOut: 3,
    });
  }

  /** The records of the open window. */
  flush(): string[] {
    if (this.windowStart === undefined) return [];
    const start = Math.floor(this.windowStart / 1000);
    const end = start + Math.floor(this.options.flushMs / 1000);
    const lines = [...this.records.values()].map((a) => this.render(a, start, end));
    this.records.clear();
    this.windowIndex++;
    return lines;
  }

  private policies(r: CalicoReport): Record<string, string[]> {
    const namespace = r.reporter === "src" ? r.source.namespace : r.dest.namespace;
    const hit =
      r.action === "allow"
        ? `${profile(namespace)}|allow`
        : `default|${namespace}/knp.default.default-deny-${r.reporter === "src" ? "egress" : "ingress"}|deny`;
    const rule = r.action === "allow" ? "0" : "-1";
    switch (this.windowIndex % 3) {
      case 0:
        return { all_policies: [`0|${hit}`] };
      case 1:
        return {
          all_policies: [`0|${hit}|${rule}`],
          enforced_policies: [`0|${hit}|${rule}`],
          pending_policies: [`0|${hit}|${rule}`],
        };
      default:
        return {
          enforced_policies: [`0|${hit}|${rule}`],
          pending_policies: [`0|${hit}|${rule}`],
          transit_policies: [],
        };
    }
  }

  private render(a: Aggregate, start: number, end: number): string {
    const r = a.report;
    const level = r.action === "allow" ? this.options.allowedLevel : this.options.deniedLevel;
    const named = level < 2;
    const side = (s: CalicoSide) => ({
      ip: named ? s.ip : null,
      name: named ? s.name : "-",
    });
    const src = side(r.source);
    const dst = side(r.dest);
    const record = {
      start_time: start,
      end_time: end,
      source_ip: src.ip,
      source_name: src.name,
      source_name_aggr: r.source.nameAggr,
      source_namespace: r.source.namespace,
      source_port: level === 0 ? r.sourcePort : null,
      source_type: r.source.type,
      source_labels: { labels: a.sourceLabels },
      dest_ip: dst.ip,
      dest_name: dst.name,
      dest_name_aggr: r.dest.nameAggr,
      dest_namespace: r.dest.namespace,
      dest_port: level === 3 ? null : r.destPort,
      dest_type: r.dest.type,
      dest_labels: { labels: a.destLabels },
      dest_service_namespace: r.service?.namespace ?? "-",
      dest_service_name: r.service?.name ?? "-",
      dest_service_port: r.service && level < 3 ? "http" : "-",
      dest_service_port_num: r.service && level < 3 ? r.destPort : null,
      dest_domains: r.domains.length > 0 ? r.domains : null,
      proto: r.proto,
      action: r.action,
      reporter: r.reporter,
      policies: this.policies(r),
      bytes_in: r.reporter === "src" ? a.bytesIn : a.bytesOut,
      bytes_out: r.reporter === "src" ? a.bytesOut : a.bytesIn,
      num_flows: a.flows,
      num_flows_started: a.flows,
      num_flows_completed: a.flows,
      packets_in: r.reporter === "src" ? a.packetsIn : a.packetsOut,
      packets_out: r.reporter === "src" ? a.packetsOut : a.packetsIn,
      http_requests_allowed_in: 0,
      http_requests_denied_in: 0,
      process_name: "-",
      num_process_names: 0,
      process_id: "-",
      num_process_ids: 0,
      process_args: ["-"],
      num_process_args: 0,
      original_source_ips: null,
      num_original_source_ips: 0,
      tcp_mean_send_congestion_window: 0,
      tcp_min_send_congestion_window: 0,
      tcp_mean_smooth_rtt: 0,
      tcp_max_smooth_rtt: 0,
      tcp_mean_min_rtt: 0,
      tcp_max_min_rtt: 0,
      tcp_mean_mss: 0,
      tcp_min_mss: 0,
      tcp_total_retransmissions: 0,
      tcp_lost_packets: 0,
      tcp_unrecovered_to: 0,
    };
    return JSON.stringify(record);
  }
}
