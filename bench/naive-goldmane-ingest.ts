import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/**
 * The baseline for Goldmane JSON lines, as a user would write it: read lines, JSON.parse each,
 * aggregate connections per (source, destination, port, action) in a Map. One core, no store.
 * `connections` counts as flowpol does: the larger of live and started, at least one.
 */
export async function naiveGoldmaneIngest(
  path: string,
): Promise<{ records: number; connections: number; edges: number }> {
  const edges = new Map<string, number>();
  let records = 0;
  let connections = 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line) continue;
    const r = JSON.parse(line);
    const k = r.Key ?? r.flow?.Key;
    if (!k) continue;
    records++;
    const key = [k.sourceNamespace, k.sourceName, k.destNamespace, k.destName, k.proto, k.destPort, k.action].join("|");
    const f = r.Key ? r : r.flow;
    const n = Math.max(1, Number(f.numConnectionsLive ?? 0), Number(f.numConnectionsStarted ?? 0));
    connections += n;
    edges.set(key, (edges.get(key) ?? 0) + n);
  }
  return { records, connections, edges: edges.size };
}
