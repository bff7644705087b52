import type { Batch, EndpointRef } from "../../model/batch.js";
import { hoursOf } from "../../model/edge-hours.js";

/**
 * A batch as ClickHouse rows, one list per table, each row stamped with the batch id. Edges keep
 * `count` minus the larger of the two reporting ends, so that summing batches and adding the larger
 * of the summed ends gives SQLite's count (a connection both Calico ends report counts once); so
 * do edge hours.
 */
export interface BatchRows {
  endpoints: object[];
  namespaces: object[];
  pods: object[];
  edges: object[];
  edge_hours: object[];
  dns_names: object[];
  services: object[];
  gaps: object[];
  bad_lines: object[];
}

const ep = (prefix: string, r: EndpointRef) => ({
  [`${prefix}cluster`]: r.cluster,
  [`${prefix}type`]: r.type,
  [`${prefix}namespace`]: r.namespace,
  [`${prefix}kind`]: r.kind,
  [`${prefix}name`]: r.name,
  [`${prefix}ip`]: r.ip,
});

export function batchRows(batch: Batch, id: string, ingestId: number, system: string, badLineOffset = 0): BatchRows {
  return {
    endpoints: batch.endpoints.map((e) => ({
      batch: id,
      ...ep("", e.ref),
      first_seen: e.first,
      last_seen: e.last,
      flows: e.count,
    })),
    namespaces: batch.namespaces.map((n) => ({
      batch: id,
      cluster: n.cluster,
      name: n.name,
      labels: n.labels,
      first_seen: n.first,
      last_seen: n.last,
    })),
    pods: batch.pods.map((p) => ({
      batch: id,
      cluster: p.endpoint.cluster,
      namespace: p.namespace,
      name: p.name,
      ...ep("ep_", p.endpoint),
      labels: p.labels,
      service_account: p.serviceAccount,
      first_seen: p.first,
      last_seen: p.last,
    })),
    edges: batch.edges.map((e) => {
      const policies = Object.keys(e.policies).sort();
      return {
        batch: id,
        ...ep("src_", e.src),
        ...ep("dst_", e.dst),
        protocol: e.protocol,
        port: e.port,
        verdict: e.verdict,
        system: e.system,
        count: e.count - Math.max(e.srcReported, e.dstReported),
        src_reported: e.srcReported,
        dst_reported: e.dstReported,
        first_seen: e.first,
        last_seen: e.last,
        drop_reason: e.dropReason,
        policies,
        policy_counts: policies.map((p) => e.policies[p] ?? 0),
      };
    }),
    edge_hours: batch.edges.flatMap((e) =>
      hoursOf(e).map((h) => ({
        batch: id,
        ...ep("src_", e.src),
        ...ep("dst_", e.dst),
        protocol: e.protocol,
        port: e.port,
        verdict: e.verdict,
        system: e.system,
        hour: h.hour,
        count: h.count - Math.max(h.srcReported, h.dstReported),
        src_reported: h.srcReported,
        dst_reported: h.dstReported,
        first_seen: h.first,
        last_seen: h.last,
      })),
    ),
    dns_names: batch.dnsNames.map((d) => ({
      batch: id,
      ip: d.ip,
      name: d.name,
      count: d.count,
      first_seen: d.first,
      last_seen: d.last,
    })),
    services: batch.services.map((s) => ({
      batch: id,
      namespace: s.namespace,
      name: s.name,
      ...ep("ep_", s.endpoint),
      protocol: s.protocol,
      port: s.port,
      count: s.count,
      first_seen: s.first,
      last_seen: s.last,
    })),
    gaps: batch.lost.map((l, seq) => ({
      batch: id,
      seq,
      source_system: system,
      kind: "lost_events",
      node: l.node ?? "",
      detail: l.source,
      count: l.lost,
      first_seen: l.time ?? null,
      last_seen: l.time ?? null,
      ingest_id: ingestId,
    })),
    bad_lines: batch.badLines.map((b) => ({
      batch: id,
      ingest_id: ingestId,
      line: b.line + badLineOffset,
      reason: b.reason,
    })),
  };
}
