import { type Batch, type EdgeAggregate, type EndpointRef, endpointKey } from "../model/batch.js";
import { hoursOf } from "../model/edge-hours.js";
import type { Db } from "./db.js";

/**
 * Endpoint and edge ids a writer keeps, each: they are few beside flows, but not bounded by the
 * input (external peers by IP). A full map is emptied; a forgotten id costs one upsert.
 */
const KEPT_IDS = 200_000;

/** The added counts as an upsert sees them (`excluded.`), or as an update's parameters. */
interface Added {
  count: string;
  src: string;
  dst: string;
  first: string;
  last: string;
}
const EXCLUDED: Added = {
  count: "excluded.count",
  src: "excluded.src_reported",
  dst: "excluded.dst_reported",
  first: "excluded.first_seen",
  last: "excluded.last_seen",
};
const PARAMETERS: Added = { count: "@count", src: "@srcReported", dst: "@dstReported", first: "@first", last: "@last" };

/**
 * Adds counts to an edge's row (or an hour's): where both ends report a connection, `count` grows
 * only by what makes the larger end's total larger (`countReported` in the batch builder).
 */
function addedCounts(a: Added): string {
  return `count = count + ${a.count} - max(${a.src}, ${a.dst}) - max(src_reported, dst_reported)
          + max(src_reported + ${a.src}, dst_reported + ${a.dst}),
        src_reported = src_reported + ${a.src},
        dst_reported = dst_reported + ${a.dst},
        first_seen = min(first_seen, ${a.first}),
        last_seen = max(last_seen, ${a.last})`;
}

function remember(ids: Map<string, number>, key: string, id: number): void {
  if (ids.size >= KEPT_IDS) ids.clear();
  ids.set(key, id);
}

/**
 * Applies pre-aggregated batches to the store with upserts. Callers wrap `write` in the same
 * transaction as their ingest-progress update, so a batch is either wholly in the store or not,
 * and drop the writer when that transaction rolls back (its ids may name rows that are gone).
 *
 * An endpoint or edge the writer has stored before is updated by its id (a third of the cost of
 * an upsert by its six key columns); an update that finds no row falls back to the upsert.
 */
export class BatchWriter {
  private readonly endpointIds = new Map<string, number>();
  private readonly edgeIds = new Map<string, number>();
  private readonly updateEndpoint;
  private readonly updateEdge;
  private readonly updateEdgeHour;
  private readonly upsertEndpoint;
  private readonly selectEndpoint;
  private readonly upsertNamespace;
  private readonly upsertPod;
  private readonly upsertEdge;
  private readonly upsertEdgePolicy;
  private readonly upsertEdgeHour;
  private readonly upsertDnsName;
  private readonly upsertService;
  private readonly insertGap;
  private readonly storedLostEvents;
  private readonly insertBadLine;

  constructor(db: Db) {
    this.upsertEndpoint = db.prepare(`
      INSERT INTO endpoints (cluster, type, namespace, kind, name, ip, first_seen, last_seen, flows)
      VALUES (@cluster, @type, @namespace, @kind, @name, @ip, @first, @last, @count)
      ON CONFLICT (cluster, type, namespace, kind, name, ip) DO UPDATE SET
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen),
        flows = flows + excluded.flows
      RETURNING id`);
    this.updateEndpoint = db.prepare(`
      UPDATE endpoints SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?), flows = flows + ?
      WHERE id = ?`);
    this.selectEndpoint = db.prepare(
      "SELECT id FROM endpoints WHERE cluster = ? AND type = ? AND namespace = ? AND kind = ? AND name = ? AND ip = ?",
    );
    this.upsertNamespace = db.prepare(`
      INSERT INTO namespaces (cluster, name, labels, first_seen, last_seen)
      VALUES (@cluster, @name, @labels, @first, @last)
      ON CONFLICT (cluster, name) DO UPDATE SET
        labels = CASE WHEN excluded.labels != '' AND excluded.last_seen >= last_seen THEN excluded.labels
                      WHEN labels = '' THEN excluded.labels ELSE labels END,
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen)`);
    this.upsertPod = db.prepare(`
      INSERT INTO pods (cluster, namespace, name, endpoint_id, labels, service_account, first_seen, last_seen)
      VALUES (@cluster, @namespace, @name, @endpointId, @labels, @serviceAccount, @first, @last)
      ON CONFLICT (cluster, namespace, name) DO UPDATE SET
        labels = CASE WHEN excluded.labels IN ('{}', '') THEN (CASE WHEN labels = '' THEN excluded.labels ELSE labels END)
                      WHEN excluded.last_seen >= last_seen OR labels IN ('{}', '') THEN excluded.labels
                      ELSE labels END,
        endpoint_id = CASE WHEN excluded.last_seen >= last_seen THEN excluded.endpoint_id ELSE endpoint_id END,
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen)`);
    this.upsertEdge = db.prepare(`
      INSERT INTO edges (src_id, dst_id, protocol, port, verdict, source_system, count, first_seen, last_seen, drop_reason,
                         src_reported, dst_reported)
      VALUES (@src, @dst, @protocol, @port, @verdict, @system, @count, @first, @last, @dropReason,
              @srcReported, @dstReported)
      ON CONFLICT (src_id, dst_id, protocol, port, verdict, source_system) DO UPDATE SET
        ${addedCounts(EXCLUDED)},
        drop_reason = CASE WHEN excluded.drop_reason != '' THEN excluded.drop_reason ELSE drop_reason END
      RETURNING id`);
    this.updateEdge = db.prepare(`
      UPDATE edges SET
        ${addedCounts(PARAMETERS)},
        drop_reason = CASE WHEN @dropReason != '' THEN @dropReason ELSE drop_reason END
      WHERE id = @id`);
    this.upsertEdgePolicy = db.prepare(`
      INSERT INTO edge_policies (edge_id, policy, count) VALUES (?, ?, ?)
      ON CONFLICT (edge_id, policy) DO UPDATE SET count = count + excluded.count`);
    this.upsertEdgeHour = db.prepare(`
      INSERT INTO edge_hours (edge_id, hour, count, src_reported, dst_reported, first_seen, last_seen)
      VALUES (@edgeId, @hour, @count, @srcReported, @dstReported, @first, @last)
      ON CONFLICT (edge_id, hour) DO UPDATE SET ${addedCounts(EXCLUDED)}`);
    this.updateEdgeHour = db.prepare(`
      UPDATE edge_hours SET ${addedCounts(PARAMETERS)}
      WHERE edge_id = @edgeId AND hour = @hour`);
    this.upsertDnsName = db.prepare(`
      INSERT INTO dns_names (ip, name, count, first_seen, last_seen) VALUES (@ip, @name, @count, @first, @last)
      ON CONFLICT (ip, name) DO UPDATE SET
        count = count + excluded.count,
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen)`);
    this.upsertService = db.prepare(`
      INSERT INTO services (namespace, name, endpoint_id, protocol, port, count, first_seen, last_seen)
      VALUES (@namespace, @name, @endpointId, @protocol, @port, @count, @first, @last)
      ON CONFLICT (namespace, name, endpoint_id, protocol, port) DO UPDATE SET
        count = count + excluded.count,
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen)`);
    this.insertGap = db.prepare(`
      INSERT INTO gaps (source_system, kind, node, detail, count, first_seen, last_seen, ingest_id)
      VALUES (@system, @kind, @node, @detail, @count, @first, @last, @ingestId)`);
    this.storedLostEvents = db.prepare(`
      SELECT 1 FROM gaps WHERE kind = 'lost_events' AND first_seen = ? AND node = ? AND source_system = ?
        AND detail = ? AND count = ? LIMIT 1`);
    this.insertBadLine = db.prepare("INSERT OR IGNORE INTO bad_lines (ingest_id, line, reason) VALUES (?, ?, ?)");
  }

  /** The id of an endpoint, creating it if needed (zero flows added). */
  endpointId(ref: EndpointRef, time: number): number {
    const key = endpointKey(ref);
    const cached = this.endpointIds.get(key);
    if (cached !== undefined) return cached;
    const row = this.selectEndpoint.get(ref.cluster, ref.type, ref.namespace, ref.kind, ref.name, ref.ip) as
      | { id: number }
      | undefined;
    const id = row?.id ?? (this.upsertEndpoint.get({ ...ref, first: time, last: time, count: 0 }) as { id: number }).id;
    remember(this.endpointIds, key, id);
    return id;
  }

  /** Writes one batch. Must run inside a transaction. */
  write(batch: Batch, ingestId: number, system: string, badLineOffset = 0): void {
    for (const e of batch.endpoints) {
      const key = endpointKey(e.ref);
      const known = this.endpointIds.get(key);
      if (known !== undefined && this.updateEndpoint.run(e.first, e.last, e.count, known).changes === 1) continue;
      const { id } = this.upsertEndpoint.get({ ...e.ref, first: e.first, last: e.last, count: e.count }) as {
        id: number;
      };
      remember(this.endpointIds, key, id);
    }
    for (const ns of batch.namespaces) this.upsertNamespace.run(ns);
    for (const p of batch.pods) {
      this.upsertPod.run({
        cluster: p.endpoint.cluster,
        namespace: p.namespace,
        name: p.name,
        endpointId: this.endpointId(p.endpoint, p.first),
        labels: p.labels,
        serviceAccount: p.serviceAccount,
        first: p.first,
        last: p.last,
      });
    }
    for (const e of batch.edges) {
      const id = this.writeEdge(e);
      for (const [policy, count] of Object.entries(e.policies)) this.upsertEdgePolicy.run(id, policy, count);
      for (const h of hoursOf(e)) {
        const hour = { edgeId: id, ...h };
        if (this.updateEdgeHour.run(hour).changes === 0) this.upsertEdgeHour.run(hour);
      }
    }
    for (const d of batch.dnsNames) this.upsertDnsName.run(d);
    for (const s of batch.services) {
      this.upsertService.run({
        namespace: s.namespace,
        name: s.name,
        endpointId: this.endpointId(s.endpoint, s.first),
        protocol: s.protocol,
        port: s.port,
        count: s.count,
        first: s.first,
        last: s.last,
      });
    }
    for (const l of batch.lost) {
      // A record read again (another input, a collector's re-read) is the same event: stored once.
      if (l.time !== undefined && this.storedLostEvents.get(l.time, l.node ?? "", system, l.source, l.lost)) continue;
      this.insertGap.run({
        system,
        kind: "lost_events",
        node: l.node ?? "",
        detail: l.source,
        count: l.lost,
        first: l.time ?? null,
        last: l.time ?? null,
        ingestId,
      });
    }
    for (const b of batch.badLines) this.insertBadLine.run(ingestId, b.line + badLineOffset, b.reason);
  }

  /** Adds an edge's counts to its row; returns the row's id. */
  private writeEdge(e: EdgeAggregate): number {
    const src = this.endpointId(e.src, e.first);
    const dst = this.endpointId(e.dst, e.first);
    const key = `${src}>${dst}>${e.protocol}>${e.port}>${e.verdict}>${e.system}`;
    const counts = {
      count: e.count,
      first: e.first,
      last: e.last,
      dropReason: e.dropReason,
      srcReported: e.srcReported,
      dstReported: e.dstReported,
    };
    const known = this.edgeIds.get(key);
    if (known !== undefined && this.updateEdge.run({ ...counts, id: known }).changes === 1) return known;
    const { id } = this.upsertEdge.get({
      src,
      dst,
      protocol: e.protocol,
      port: e.port,
      verdict: e.verdict,
      system: e.system,
      ...counts,
    }) as { id: number };
    remember(this.edgeIds, key, id);
    return id;
  }

  /** Records a gap that is not a lost-events record (e.g. an unavailable node during collection). */
  recordGap(gap: {
    system: string;
    kind: string;
    node: string;
    detail: string;
    count: number;
    time: number | null;
    ingestId: number | null;
  }): void {
    this.insertGap.run({ ...gap, first: gap.time, last: gap.time });
  }
}
