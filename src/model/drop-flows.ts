import { type Batch, emptyFlowIds, sealFlowIds } from "./batch.js";
import { copyHours, uncountHour } from "./edge-hours.js";

/**
 * The batch without some of its flows (indexes into `batch.flowIds`): their counts are taken out
 * of every counter they added to (an edge's hour of the flow's time too), and entries left with
 * no flow are dropped. First and last seen times stay: a flow is dropped only as a repeat of a
 * stored flow with the same time, which the store's spans already hold. Labels stay for the same
 * reason.
 *
 * Invariant: `withoutFlows(b, drop)` equals the batch the builder would have made without those
 * flows, but for spans and labels (see above).
 */
export function withoutFlows(batch: Batch, drop: ReadonlySet<number>): Batch {
  const ids = batch.flowIds;
  if (!ids || drop.size === 0) return batch;
  const endpoints = batch.endpoints.map((e) => ({ ...e }));
  const edges = batch.edges.map((e) => ({ ...e, policies: { ...e.policies }, ...copyHours(e) }));
  const services = batch.services.map((s) => ({ ...s }));
  const dnsNames = batch.dnsNames.map((d) => ({ ...d }));
  let flows = batch.flows;
  let replies = batch.replies;
  const kept = emptyFlowIds(ids.contributions);
  for (let i = 0; i < ids.uuids.length; i++) {
    const count = ids.counts[i] as number;
    const part = ids.parts[i] as number;
    if (!drop.has(i)) {
      kept.uuids.push(ids.uuids[i] as string);
      kept.times.push(ids.times[i] as number);
      kept.counts.push(count);
      kept.parts.push(part);
      continue;
    }
    const c = ids.contributions[part];
    if (!c) continue;
    flows -= count;
    for (const at of [c.src, c.dst]) {
      const e = endpoints[at];
      if (e) e.count -= count;
    }
    const edge = edges[c.edge];
    if (edge) {
      edge.count -= count;
      uncountHour(edge, ids.times[i] as number, count);
      for (const p of c.policies) {
        const left = (edge.policies[p] ?? 0) - count;
        if (left > 0) edge.policies[p] = left;
        else delete edge.policies[p];
      }
      const service = services[c.service];
      if (service) service.count -= count;
    } else replies -= count;
    for (const at of c.dnsNames) {
      const d = dnsNames[at];
      if (d) d.count -= 1;
    }
  }
  const out: Batch = {
    ...batch,
    flows,
    replies,
    endpoints,
    edges: edges.filter((e) => e.count > 0),
    services: services.filter((s) => s.count > 0),
    dnsNames: dnsNames.filter((d) => d.count > 0),
  };
  if (kept.uuids.length > 0) out.flowIds = sealFlowIds(kept);
  else delete out.flowIds;
  return out;
}
