import { Command } from "commander";
import { UsageError } from "../../errors.js";
import { graphDot, graphHtml, graphJson, graphMermaid, graphTable, recordsNote } from "../../render/index.js";
import { type GraphScopeOptions, loadGraph } from "../load-graph.js";
import { addOutputOptions, outFile, outFileOption } from "../options.js";
import { type Output, writeLine } from "../output.js";
import { readingStore } from "../read-store.js";
import { addScopeOptions, scopeOf } from "../scope-options.js";
import { writeFileAtomic } from "../write-file-atomic.js";

export const GRAPH_FORMATS = ["table", "json", "dot", "mermaid", "html"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export function define(out: Output): Command {
  const cmd = addScopeOptions(
    new Command("graph").description("the service dependency graph: workloads, platform entities, external peers"),
    "are shown",
  ).addOption(outFileOption());
  const spec = { formats: GRAPH_FORMATS, default: "table", hasOut: true, legacyFormat: true };
  return addOutputOptions(cmd, spec, out).action(async (o) => {
    const file = outFile(o.out);
    await graph({ ...scopeOf(o), format: o.output, ...(file !== undefined ? { out: file } : {}) }, out);
  });
}

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
  const text = await render(g);
  if (options.out) {
    writeFileAtomic(options.out, text);
    writeLine(out.stderr, `wrote ${options.out}`);
  } else out.stdout.write(text);
  for (const w of g.warnings) writeLine(out.stderr, `warning: ${w.message}`);
  // The table says it in its EDGE RECORDS section; other formats keep their syntax and say it here.
  if (options.format !== "table") for (const line of recordsNote(g)) writeLine(out.stderr, `note: ${line.trim()}`);
}
