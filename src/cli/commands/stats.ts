import { Command } from "commander";
import { DEFAULT_CLUSTER } from "../../model/batch.js";
import { resolveDbPath } from "../../store/db.js";
import { openFlowStore } from "../../store/open.js";
import { parseClusterFlag, resolveCluster } from "../../store/resolve-cluster.js";
import type { StoreStats } from "../../store/stats.js";
import type { ObservedWindow } from "../../store/store.js";
import { addOutputOptions, addWindowOptions, dbOption, readClusterOption, windowOf } from "../options.js";
import { type Output, writeLine } from "../output.js";

export function define(out: Output): Command {
  const cmd = new Command("stats")
    .description("summarise the store: flows, edges, workloads, namespaces, window, gaps, bad lines")
    .addOption(dbOption())
    .addOption(readClusterOption());
  addWindowOptions(cmd);
  return addOutputOptions(cmd, { formats: ["text", "json"], default: "text", legacyJson: true }, out).action(
    async (o) => {
      const window = windowOf(o, Date.now());
      await stats({ db: resolveDbPath(o.db), cluster: o.cluster, json: o.output === "json", window }, out);
    },
  );
}

export interface StatsOptions {
  db: string;
  /** `--cluster`: the graph's figures of this cluster only. */
  cluster?: string | undefined;
  json: boolean;
  /** `--since`/`--until` (ms): the graph's figures of the flows in this window. */
  window?: ObservedWindow;
}

export async function stats(options: StatsOptions, out: Output): Promise<void> {
  parseClusterFlag(options.cluster);
  const store = await openFlowStore(options.db, { mustExist: true, readonly: true });
  try {
    // Without --cluster: every cluster's figures; with it, one the store holds.
    const cluster = options.cluster === undefined ? undefined : await resolveCluster(store, options.cluster);
    const s = await store.stats(cluster, options.window ?? {});
    if (options.json) {
      writeLine(out.stdout, JSON.stringify(s, null, 2));
      return;
    }
    const rows: Array<[string, string | number]> = [
      ["flows", s.flows],
      ["  replies (not edges)", s.replies ?? "(not kept by hour: counted per input)"],
      ["edges", s.edges],
      ["  allowed", s.allowedEdges],
      ["  denied", s.deniedEdges],
      ["workloads", s.workloads],
      ["namespaces", s.namespaces],
      ["external peers", s.externalPeers],
      ["window", s.since ? `${s.since} .. ${s.until}` : "(empty)"],
      ...windowRows(s),
      ["sources", s.sources.join(", ") || "(none)"],
      ...(s.clusters.some((c) => c !== DEFAULT_CLUSTER) || cluster !== undefined
        ? [
            [
              "clusters",
              cluster === undefined ? s.clusters.join(", ") : `${cluster} (of ${s.clusters.join(", ")})`,
            ] as [string, string],
          ]
        : []),
      ["lost events", s.lostEvents],
      ["gaps", s.gaps],
      [
        "unavailable nodes",
        s.unavailableNodes.length ? `${s.unavailableNodes.length} (${s.unavailableNodes.join(", ")})` : 0,
      ],
      ["skipped lines", s.skippedLines],
      ["bad lines", s.badLines],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) writeLine(out.stdout, `${k.padEnd(width)}  ${v}`);
  } finally {
    await store.close();
  }
}

/** With --since/--until: the whole hours counted, and flows of an unknown hour among them. */
function windowRows(s: StoreStats): Array<[string, string | number]> {
  const w = s.window;
  if (!w) return [];
  const rows: Array<[string, string | number]> = [
    ["counted", `${w.since ?? "(start)"} .. ${w.until ?? "(end)"} (--since/--until rounded out to whole hours)`],
  ];
  if (w.uncertainFlows > 0) {
    rows.push([
      "  of an unknown hour",
      `${w.uncertainFlows} flows (no known hour: counted where their span meets the window; may lie outside)`,
    ]);
  }
  return rows;
}
