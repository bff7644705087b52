import { readFileSync } from "node:fs";
import { Command } from "commander";
import { diffInput } from "../../diff/observed-diff.js";
import { UsageError } from "../../errors.js";
import { DEFAULT_SHARED_MIN_NAMESPACES } from "../../graph/index.js";
import { loadTopology } from "../../policy-io/load-topology.js";
import { layoutGraph } from "../../render/graph-layout.js";
import { graphMermaid, graphView } from "../../render/index.js";
import { analyze } from "../../report/findings.js";
import { reportHtml } from "../../report/html.js";
import { reportMarkdown } from "../../report/markdown.js";
import { replay } from "../../report/policy-verdicts.js";
import { coverageMarkdown } from "../../report/policy-verdicts-text.js";
import { sharedServiceRows } from "../../report/shared.js";
import { resolveDbPath } from "../../store/db.js";
import type { ObservedWindow } from "../../store/store.js";
import { collectList } from "../flags.js";
import { loadGraph } from "../load-graph.js";
import {
  addOutputOptions,
  addWindowOptions,
  dbOption,
  outFile,
  outFileOption,
  parseIntFlag,
  readClusterOption,
  windowOf,
} from "../options.js";
import type { Output } from "../output.js";
import { readingStore, type StoreRead } from "../read-store.js";
import { writeFileAtomic } from "../write-file-atomic.js";

export const REPORT_FORMATS = ["markdown", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function define(out: Output): Command {
  const cmd = new Command("report")
    .description("the discovery report: observation window and trust, graph, shared services, externals, drops")
    .addOption(dbOption())
    .addOption(readClusterOption())
    .addOption(outFileOption());
  addWindowOptions(cmd)
    .option(
      "--min-job-runs <n>",
      "Jobs and CronJobs seen in fewer runs are flagged",
      parseIntFlag("--min-job-runs", 1),
      3,
    )
    .option("--policies <paths...>", "declared policies: add their coverage and gaps (flowpol diff)")
    .option("--catalog <file>", "extra shared-service catalog YAML, as generate's (repeatable)", collectList, []);
  const spec = { formats: REPORT_FORMATS, default: "markdown", hasOut: true, legacyFormat: true };
  return addOutputOptions(cmd, spec, out).action(async (o) => {
    const options = {
      format: o.output,
      out: outFile(o.out),
      minJobRuns: o.minJobRuns,
      policies: o.policies,
      catalogs: o.catalog,
      window: windowOf(o, Date.now()),
    };
    await report({ db: resolveDbPath(o.db), cluster: o.cluster, ...options }, out);
  });
}

export interface ReportOptions {
  db: string;
  cluster?: string | undefined;
  format: string;
  out: string | undefined;
  minJobRuns: number;
  policies: string[] | undefined;
  /** Extra shared-service catalogs, as generate's `--catalog`. */
  catalogs: string[];
  /** `--since`/`--until` (ms): the report of the flows in this window. */
  window?: ObservedWindow;
}

/** `flowpol report`: what a platform team reads before it decides to enforce. */
export async function report(options: ReportOptions, out: Output): Promise<void> {
  if (!(REPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new UsageError(`-o ${options.format} is not a report format`, `use one of: ${REPORT_FORMATS.join(", ")}`);
  }
  const declared = options.policies
    ? loadTopology(options.policies, { stdin: () => readFileSync(0, "utf8") }).topology
    : undefined;
  const text = await readingStore(options.db, options.cluster, async (read) => {
    const window = options.window ?? {};
    const graph = await wholeGraph(read, options.catalogs, window);
    const snapshot = await read.store.readSnapshot(read.cluster, window);
    const findings = analyze(snapshot, { minJobRuns: options.minJobRuns, shared: sharedServiceRows(graph) });
    const coverage = declared
      ? replay(diffInput(await read.store.readObserved(window, read.cluster), declared), () => true)
      : undefined;
    return options.format === "html"
      ? reportHtml(findings, await drawn(graph), coverage)
      : reportMarkdown(findings, graphMermaid(graph).trimEnd(), coverage ? coverageMarkdown(coverage) : undefined);
  });
  if (options.out) writeFileAtomic(options.out, text);
  else out.stdout.write(text);
}

async function drawn(graph: Awaited<ReturnType<typeof wholeGraph>>) {
  const view = graphView(graph);
  return { view, layout: await layoutGraph(view) };
}

/** The dependency graph of every namespace in the store, as `flowpol graph --exclude-namespace ""` builds it. */
export function wholeGraph(read: StoreRead, catalogs: string[] = [], window: ObservedWindow = {}) {
  return loadGraph(
    {
      ...(window.since !== undefined ? { since: new Date(window.since).toISOString() } : {}),
      ...(window.until !== undefined ? { until: new Date(window.until).toISOString() } : {}),
      db: read.store.location,
      namespaces: [],
      excludeNamespaces: [],
      minFlows: 1,
      catalogs,
      sharedMinNamespaces: DEFAULT_SHARED_MIN_NAMESPACES,
      now: Date.now(),
    },
    read,
  );
}
