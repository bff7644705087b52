import { readFileSync } from "node:fs";
import { UsageError } from "../../errors.js";
import { DEFAULT_SHARED_MIN_NAMESPACES } from "../../graph/index.js";
import { loadTopology } from "../../policy-io/load-topology.js";
import { graphMermaid } from "../../render/index.js";
import { analyze } from "../../report/findings.js";
import { graphView } from "../../report/graph-view.js";
import { reportHtml } from "../../report/html.js";
import { reportMarkdown } from "../../report/markdown.js";
import { replay } from "../../report/policy-verdicts.js";
import { coverageMarkdown } from "../../report/policy-verdicts-text.js";
import { sharedServiceRows } from "../../report/shared.js";
import { loadGraph } from "../load-graph.js";
import type { Output } from "../output.js";
import { readingStore, type StoreRead } from "../read-store.js";
import { writeFileAtomic } from "../write-file-atomic.js";

export const REPORT_FORMATS = ["markdown", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportOptions {
  db: string;
  cluster?: string | undefined;
  format: string;
  out: string | undefined;
  minJobRuns: number;
  policies: string[] | undefined;
}

/** `flowpol report`: what a platform team reads before it decides to enforce. */
export async function report(options: ReportOptions, out: Output): Promise<void> {
  if (!(REPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new UsageError(
      `--format ${options.format} is not a report format`,
      `use one of: ${REPORT_FORMATS.join(", ")}`,
    );
  }
  const declared = options.policies
    ? loadTopology(options.policies, { stdin: () => readFileSync(0, "utf8") }).topology.policies
    : undefined;
  const text = await readingStore(options.db, options.cluster, async (read) => {
    const graph = await wholeGraph(read);
    const snapshot = await read.store.readSnapshot(read.cluster);
    const findings = analyze(snapshot, { minJobRuns: options.minJobRuns, shared: sharedServiceRows(graph) });
    const view = graphView(graph);
    const coverage = declared
      ? replay(await read.store.readObserved({}, read.cluster), declared, () => true)
      : undefined;
    return options.format === "html"
      ? reportHtml(findings, view, coverage)
      : reportMarkdown(findings, graphMermaid(graph).trimEnd(), coverage ? coverageMarkdown(coverage) : undefined);
  });
  if (options.out) writeFileAtomic(options.out, text);
  else out.stdout.write(text);
}

/** The dependency graph of every namespace in the store, as `flowpol graph --exclude-namespace ""` builds it. */
export function wholeGraph(read: StoreRead) {
  return loadGraph(
    {
      db: read.store.location,
      namespaces: [],
      excludeNamespaces: [],
      minFlows: 1,
      catalogs: [],
      sharedMinNamespaces: DEFAULT_SHARED_MIN_NAMESPACES,
      now: Date.now(),
    },
    read,
  );
}
