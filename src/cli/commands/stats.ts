import { Command } from "commander";
import { openStore, resolveDbPath } from "../../store/db.js";
import { storeStats } from "../../store/stats.js";
import { addOutputOptions, dbOption } from "../options.js";
import { type Output, writeLine } from "../output.js";

export function define(out: Output): Command {
  const cmd = new Command("stats")
    .description("summarise the store: flows, edges, workloads, namespaces, window, gaps, bad lines")
    .addOption(dbOption());
  return addOutputOptions(cmd, { formats: ["text", "json"], default: "text", legacyJson: true }, out).action(
    async (o) => {
      await stats({ db: resolveDbPath(o.db), json: o.output === "json" }, out);
    },
  );
}

export interface StatsOptions {
  db: string;
  json: boolean;
}

export async function stats(options: StatsOptions, out: Output): Promise<void> {
  const db = openStore(options.db, { mustExist: true, readonly: true });
  try {
    const s = storeStats(db);
    if (options.json) {
      writeLine(out.stdout, JSON.stringify(s, null, 2));
      return;
    }
    const rows: Array<[string, string | number]> = [
      ["flows", s.flows],
      ["  replies (not edges)", s.replies],
      ["edges", s.edges],
      ["  allowed", s.allowedEdges],
      ["  denied", s.deniedEdges],
      ["workloads", s.workloads],
      ["namespaces", s.namespaces],
      ["external peers", s.externalPeers],
      ["window", s.since ? `${s.since} .. ${s.until}` : "(empty)"],
      ["sources", s.sources.join(", ") || "(none)"],
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
    db.close();
  }
}
