import { readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Command, type OptionValues } from "commander";
import { CheckFailedError, UsageError } from "../../errors.js";
import { DEFAULT_SHARED_MIN_NAMESPACES } from "../../graph/index.js";
import { graphMermaid } from "../../render/index.js";
import { analyze } from "../../report/findings.js";
import { sharedServiceRows } from "../../report/shared.js";
import type { PolicyFile } from "../../rollout/policy-set.js";
import { readPolicyDir } from "../../rollout/read-policy-dir.js";
import { DEFAULT_BRANCH, type RolloutEvidence, type RolloutResult, runRollout } from "../../rollout/run-rollout.js";
import { defaultSynthOptions, FLAVORS, type Flavor, synthesizeSound } from "../../synth/index.js";
import { collectList } from "../flags.js";
import { loadGraph } from "../load-graph.js";
import {
  addOutputOptions,
  dbOption,
  existingDb,
  outFile,
  outFileOption,
  parseIntFlag,
  readClusterOption,
  splitList,
} from "../options.js";
import { type Output, writeLine } from "../output.js";
import { readingStore } from "../read-store.js";
import { writeFileAtomic } from "../write-file-atomic.js";
import { wholeGraph } from "./report.js";

export function define(out: Output): Command {
  const cmd = new Command("rollout")
    .description("commit generated policies to a GitOps repository in staged waves, with the pull request text")
    .requiredOption("--repo <dir>", "a working clone of the GitOps repository")
    .option("--from <dir>", "the folder `flowpol generate --out` wrote (default: generate from the store)")
    .option("--flavor <name>", "when generating from the store: kubernetes, cilium or calico-staged", "kubernetes")
    .option("--path <dir>", "folder inside the repository for the policies", "policies")
    .option("--base <branch>", "branch to start from", "main")
    .option("--branch <name>", "branch to create or update (default: flowpol/network-policies[-wave-N])")
    .option(
      "--wave <n>",
      "only waves 1..N, on a branch of their own (1 observe, 2 allow, 3 deny ingress, 4 deny egress)",
      parseIntFlag("--wave", 1),
    )
    .option("--wave-order <namespaces>", "comma-separated order of the deny-ingress steps", splitList)
    .option("--egress-order <namespaces>", "comma-separated order of the deny-egress steps", splitList)
    .addOption(dbOption())
    .addOption(readClusterOption())
    .option("--no-db", "use no store: no report, no evidence tables, alphabetical order")
    .option("--catalog <file>", "extra shared-service catalog YAML, as generate's (repeatable)", collectList, [])
    .option("--template <file>", "pull request template (default: templates/pull-request.md)")
    .option(
      "--min-job-runs <n>",
      "Jobs and CronJobs seen in fewer runs are flagged",
      parseIntFlag("--min-job-runs", 1),
      3,
    )
    .option("--push <remote>", "push the branch to this remote")
    .option("--open", "open the pull request with the gh CLI (or print the command)", false)
    .addOption(outFileOption("also write the pull request text (Markdown) to FILE"));
  const spec = { formats: ["text", "markdown", "json"], default: "text" };
  return addOutputOptions(cmd, spec, out).action(async (o) => {
    await rollout(rolloutOptions(o), out);
  });
}

function rolloutOptions(o: OptionValues): RolloutOptions {
  return {
    repo: o.repo,
    from: o.from,
    flavor: o.flavor,
    path: o.path,
    base: o.base,
    branch: o.branch,
    wave: o.wave,
    waveOrder: o.waveOrder,
    egressOrder: o.egressOrder,
    db: o.db === false ? undefined : existingDb(o.db),
    cluster: o.cluster,
    catalogs: o.catalog,
    template: o.template,
    minJobRuns: o.minJobRuns,
    push: o.push,
    open: o.open,
    output: o.output,
    out: outFile(o.out),
    env: process.env,
  };
}

export interface RolloutOptions {
  repo: string;
  path: string;
  base: string;
  branch: string | undefined;
  /** Only waves 1..N, on a branch of their own. */
  wave: number | undefined;
  waveOrder: string[] | undefined;
  egressOrder: string[] | undefined;
  /** A folder written by `flowpol generate --out`; undefined: generate from the store. */
  from: string | undefined;
  /** The flavor when generating from the store. */
  flavor: string;
  /** The store, for the evidence, the report and the namespace order; undefined: none. */
  db: string | undefined;
  cluster?: string | undefined;
  /** Extra shared-service catalogs, for generating and for the report, as generate's `--catalog`. */
  catalogs: string[];
  template: string | undefined;
  minJobRuns: number;
  push: string | undefined;
  open: boolean;
  /** text: a summary; markdown: the pull request text; json: the summary as JSON. */
  output: string;
  /** Also write the pull request text here. */
  out: string | undefined;
  env: NodeJS.ProcessEnv;
}

/** The policy set `flowpol generate` would write with its defaults, without touching the disk. */
async function generateFromStore(
  db: string,
  cluster: string | undefined,
  flavor: Flavor,
  catalogs: string[],
  warn: (line: string) => void,
): Promise<PolicyFile[]> {
  const { graph, observed } = await readingStore(db, cluster, async (read) => {
    const graph = await loadGraph(
      {
        db,
        namespaces: [],
        minFlows: 1,
        catalogs,
        sharedMinNamespaces: DEFAULT_SHARED_MIN_NAMESPACES,
        now: Date.now(),
      },
      read,
    );
    if (graph.namespaces.length === 0) {
      throw new UsageError(
        "no namespace in the store has observed workloads",
        "ingest flows first (`flowpol ingest FILE`)",
      );
    }
    return { graph, observed: await read.store.readObserved({}, read.cluster) };
  });
  const { tree, proof } = synthesizeSound(
    graph,
    observed,
    { ...defaultSynthOptions(), flavor },
    { acceptDenied: false, minFlows: 1 },
  );
  const failed = proof.denied.filter((d) => d.reason === undefined);
  if (failed.length > 0) {
    throw new CheckFailedError(
      `the generated policies would deny ${failed.length} observed connection(s) for no documented reason: ${failed
        .slice(0, 3)
        .map((d) => `${d.from} -> ${d.to} ${d.protocol}/${d.port}`)
        .join(", ")}`,
      "run `flowpol generate --out DIR` to see them all; to roll out such a set anyway, generate it with --accept-denied and pass --from DIR",
    );
  }
  for (const w of tree.warnings) warn(`warning: ${w}`);
  return tree.files.map((f) => ({ path: f.path, text: f.content }));
}

export function defaultTemplatePath(): string {
  return fileURLToPath(new URL("../../../templates/pull-request.md", import.meta.url));
}

function readTemplate(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new UsageError(
      `--template ${path} cannot be read`,
      "give a Markdown file with {{placeholders}}, e.g. a copy of templates/pull-request.md",
    );
  }
}

/** What the store adds to the pull request: the report, the graph and the observed connections. */
function storeEvidence(
  db: string,
  cluster: string | undefined,
  minJobRuns: number,
  catalogs: string[],
): Promise<RolloutEvidence> {
  return readingStore(db, cluster, async (read) => {
    const snapshot = await read.store.readSnapshot(read.cluster);
    const observed = await read.store.readObserved({}, read.cluster);
    const graph = await wholeGraph(read, catalogs);
    const findings = analyze(snapshot, { minJobRuns, shared: sharedServiceRows(graph) });
    return { findings, mermaid: graphMermaid(graph).trimEnd(), observed };
  });
}

/** `flowpol rollout`: the policy set onto a branch of the GitOps repository, one commit per wave step. */
export async function rollout(options: RolloutOptions, out: Output): Promise<void> {
  if (options.wave !== undefined && (options.wave < 1 || options.wave > 4)) {
    throw new UsageError(
      `--wave ${options.wave} is not a wave`,
      "waves are 1 (observe), 2 (allow), 3 (deny ingress), 4 (deny egress)",
    );
  }
  if (!options.from && !options.db) {
    throw new UsageError(
      "rollout needs a store to generate policies from, or a generated folder",
      "point --db (or FLOWPOL_DB) at the store, or run `flowpol generate --out DIR` and pass --from DIR",
    );
  }
  if (options.catalogs.length > 0 && !options.db) {
    throw new UsageError(
      "--catalog classifies the flows of a store, and rollout has none here (--no-db)",
      "point --db (or FLOWPOL_DB) at the store, or leave --catalog out",
    );
  }
  if (!FLAVORS.includes(options.flavor as Flavor)) {
    throw new UsageError(`--flavor ${options.flavor} is not known`, `use one of ${FLAVORS.join(", ")}`);
  }
  const templateFile = options.template ?? defaultTemplatePath();
  const template = readTemplate(templateFile);
  const files = options.from
    ? readPolicyDir(options.from)
    : await generateFromStore(
        options.db as string,
        options.cluster,
        options.flavor as Flavor,
        options.catalogs,
        (line) => writeLine(out.stderr, line),
      );
  const result = await runRollout({
    ...options,
    branch: options.branch ?? (options.wave ? `${DEFAULT_BRANCH}-wave-${options.wave}` : DEFAULT_BRANCH),
    files,
    origin: options.from ?? "generated",
    template,
    templateFile,
    evidence: options.db
      ? await storeEvidence(options.db, options.cluster, options.minJobRuns, options.catalogs)
      : undefined,
    warn: (line) => writeLine(out.stderr, line),
  });
  if (options.out) writeFileAtomic(options.out, result.pullRequestText);
  if (options.output === "json") writeLine(out.stdout, JSON.stringify(rolloutJson(result, options), null, 2));
  else if (options.output === "markdown") {
    // The pull request text alone on stdout; the summary goes to stderr.
    out.stdout.write(result.pullRequestText);
    printSummary(result, options, out.stderr);
  } else printSummary(result, options, out.stdout);
  if (result.opened)
    writeLine(out.stderr, result.opened.opened ? `opened ${result.opened.output}` : result.opened.output);
}

function rolloutJson(r: RolloutResult, options: RolloutOptions) {
  return {
    branch: r.branch,
    base: r.base,
    updated: r.updated,
    commits: r.commits.map((c) => ({
      commit: c.commit,
      step: c.step.id,
      title: c.step.title,
      added: c.added,
      changed: c.changed,
      removed: c.removed,
    })),
    carriesEarlierWaves: r.carriesEarlierWaves,
    pullRequest: `${r.branch}:${r.pullRequestPath}`,
    pullRequestFile: options.out ?? null,
    pushedTo: r.pushedTo ?? null,
  };
}

function printSummary(r: RolloutResult, options: RolloutOptions, stream: Writable): void {
  if (r.commits.length === 0) writeLine(stream, `${r.branch} is up to date: nothing changed, no commit made`);
  else {
    writeLine(stream, `${r.updated ? "updated" : "created"} ${r.branch} from ${r.base}: ${r.commits.length} commit(s)`);
    for (const c of r.commits) {
      writeLine(
        stream,
        `  ${c.commit.slice(0, 12)} wave ${c.step.id} ${c.step.title} (+${c.added.length} ~${c.changed.length} -${c.removed.length})`,
      );
    }
  }
  if (r.carriesEarlierWaves) {
    writeLine(stream, `note: waves before ${options.wave} are not on ${r.base} yet, so this branch carries them too`);
  }
  if (options.output !== "markdown") {
    const file = options.out ? ` and in ${options.out}` : "";
    writeLine(
      stream,
      `pull request text: ${r.branch}:${r.pullRequestPath}${file} (print it with -o markdown, or git show ${r.branch}:${r.pullRequestPath})`,
    );
  }
  if (r.pushedTo) writeLine(stream, `pushed ${r.branch} to ${r.pushedTo}`);
}
