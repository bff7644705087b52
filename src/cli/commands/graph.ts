import { renameSync, writeFileSync } from "node:fs";
import { UsageError } from "../../errors.js";
import { graphDot, graphHtml, graphJson, graphMermaid, graphTable } from "../../render/index.js";
import { type GraphScopeOptions, loadGraph } from "../load-graph.js";
import { type Output, writeLine } from "../output.js";
import { readingStore } from "../read-store.js";

export const GRAPH_FORMATS = ["table", "json", "dot", "mermaid", "html"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export interface GraphCommandOptions extends GraphScopeOptions {
  format: string;
  /** Write to this file (atomically) instead of stdout. */
  out?: string;
}

/** `flowpol graph`: the service dependency graph of the store, in one of five formats. */
export async function graph(options: GraphCommandOptions, out: Output): Promise<void> {
  if (!GRAPH_FORMATS.includes(options.format as GraphFormat)) {
    throw new UsageError(`--format ${options.format} is not a graph format`, `use one of ${GRAPH_FORMATS.join(", ")}`);
  }
  const g = await readingStore(options.db, options.cluster, (read) => loadGraph(options, read));
  const render = { table: graphTable, json: graphJson, dot: graphDot, mermaid: graphMermaid, html: graphHtml }[
    options.format as GraphFormat
  ];
  const text = render(g);
  if (options.out) {
    const tmp = `${options.out}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, options.out);
    writeLine(out.stderr, `wrote ${options.out}`);
  } else out.stdout.write(text);
  for (const w of g.warnings) writeLine(out.stderr, `warning: ${w.message}`);
}
