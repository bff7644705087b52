import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/**
 * The baseline for Calico flow logs, as a user would write it: read lines, JSON.parse each,
 * aggregate connections per (source, destination, port, action) in a Map. One core, no store,
 * no validation, no reporter de-duplication. `connections` counts as flowpol does: the larger of
 * `num_flows` and `num_flows_started`, at least one.
 */
export async function naiveCalicoIngest(
  path: string,
): Promise<{ records: number; connections: number; edges: number }> {
  const edges = new Map<string, number>();
  let records = 0;
  let connections = 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line) continue;
    const r = JSON.parse(line);
    records++;
    const key = [
      r.source_namespace,
      r.source_name_aggr,
      r.dest_namespace,
      r.dest_name_aggr,
      r.proto,
      r.dest_port,
      r.action,
    ].join("|");
    const n = Math.max(1, r.num_flows ?? 0, r.num_flows_started ?? 0);
    connections += n;
    edges.set(key, (edges.get(key) ?? 0) + n);
  }
  return { records, connections, edges: edges.size };
}
