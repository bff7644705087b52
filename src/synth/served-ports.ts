import type { DependencyGraph } from "../graph/index.js";

export interface ServedPort {
  protocol: string;
  port: number;
}

/**
 * The ports each workload was observed serving (allowed connections to it with a port), in the
 * order first seen, each once. A workload can serve thousands (a port scan observed and allowed):
 * each is found by its key, not by a search of the list.
 */
export function servedPorts(graph: DependencyGraph): Map<string, ServedPort[]> {
  const served = new Map<string, { list: ServedPort[]; keys: Set<string> }>();
  for (const e of graph.allowed) {
    if (graph.nodes.get(e.to)?.type !== "workload" || e.port < 1) continue;
    let entry = served.get(e.to);
    if (!entry) {
      entry = { list: [], keys: new Set() };
      served.set(e.to, entry);
    }
    const key = `${e.protocol}/${e.port}`;
    if (entry.keys.has(key)) continue;
    entry.keys.add(key);
    entry.list.push({ protocol: e.protocol, port: e.port });
  }
  return new Map([...served].map(([id, { list }]) => [id, list]));
}
