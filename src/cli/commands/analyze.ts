import { readFileSync } from "node:fs";
import { Command } from "commander";
import { InputError, UsageError } from "../../errors.js";
import { analyzerIssues } from "../../policy/analyzer-checks.js";
import { semanticDiff } from "../../policy/connectivity-change.js";
import { DIFF_FORMATS, type DiffFormat, formatSemanticDiff } from "../../policy/connectivity-change-format.js";
import { connectivityList, focus } from "../../policy/connlist.js";
import { CONNLIST_FORMATS, type ConnlistFormat, formatConnlist } from "../../policy/connlist-format.js";
import type { Semantics } from "../../policy/engine.js";
import type { Topology } from "../../policy/objects.js";
import { describeProblem, loadTopology } from "../../policy-io/load-topology.js";
import { collectList } from "../flags.js";
import { type Output, writeLine } from "../output.js";

/** `flowpol analyze list|diff`: netpol-analyzer's flags, kept as the analyzer spells them. */
export function define(out: Output): Command {
  return new Command("analyze")
    .description("connectivity of Kubernetes manifests, in np-guard netpol-analyzer's formats")
    .addCommand(defineList(out))
    .addCommand(defineDiff(out));
}

function defineList(out: Output): Command {
  return new Command("list")
    .description("list the allowed connections between the workloads (and external IP ranges) of a manifest folder")
    .requiredOption("--dirpath <path>", "a folder (read recursively) or file of manifests, or - for stdin")
    .option("-o, --output <format>", `output format: ${CONNLIST_FORMATS.join(", ")}`, "txt")
    .option(
      "--focusworkload <names>",
      "only connections of these workloads (name or ns/name, comma-separated)",
      collectList,
    )
    .option("--focus-direction <dir>", "with --focusworkload: only ingress or only egress")
    .option("--focusworkload-peer <names>", "with --focusworkload: only connections with these peers", collectList)
    .option("--k8s-semantics", "Kubernetes semantics instead of the analyzer's (ipBlocks match pod IPs)", false)
    .option("-q, --quiet", "no warnings on stderr", false)
    .action(async (o) => {
      await analyzeList(
        {
          dirpath: o.dirpath,
          output: o.output,
          focusWorkloads: o.focusworkload ?? [],
          focusDirection: o.focusDirection,
          focusPeers: o.focusworkloadPeer ?? [],
          semantics: o.k8sSemantics ? "kubernetes" : "analyzer",
          quiet: o.quiet,
        },
        out,
      );
    });
}

function defineDiff(out: Output): Command {
  return new Command("diff")
    .description("the connectivity change between two manifest folders (added, removed, changed)")
    .requiredOption("--dir1 <path>", "the reference manifests")
    .requiredOption("--dir2 <path>", "the changed manifests")
    .option("-o, --output <format>", `output format: ${DIFF_FORMATS.join(", ")}`, "txt")
    .option("--k8s-semantics", "Kubernetes semantics instead of the analyzer's (ipBlocks match pod IPs)", false)
    .option("-q, --quiet", "no warnings on stderr", false)
    .action(async (o) => {
      const semantics = o.k8sSemantics ? "kubernetes" : "analyzer";
      await analyzeDiff({ dir1: o.dir1, dir2: o.dir2, output: o.output, semantics, quiet: o.quiet }, out);
    });
}

/**
 * `flowpol analyze list|diff`: the connectivity of a manifest folder, and the connectivity change
 * between two, in netpol-analyzer's formats. Follows the analyzer's conventions unless
 * `semantics` is "kubernetes".
 */
export interface AnalyzeCommon {
  semantics: Semantics;
  quiet: boolean;
}

export interface AnalyzeListOptions extends AnalyzeCommon {
  dirpath: string;
  output: string;
  focusWorkloads: string[];
  focusDirection: string | undefined;
  focusPeers: string[];
}

export interface AnalyzeDiffOptions extends AnalyzeCommon {
  dir1: string;
  dir2: string;
  output: string;
}

/** netpol-analyzer's words, and what follows from them. */
export const NO_WORKLOADS =
  "no relevant Kubernetes workload resources found (Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs): there are no connections to list";

function load(path: string, options: AnalyzeCommon, out: Output): Topology {
  const { topology } = loadTopology([path], {
    lenient: options.semantics === "analyzer",
    stdin: () => readFileSync(0, "utf8"),
    warn: (m) => {
      if (!options.quiet) writeLine(out.stderr, `warning: ${m}`);
    },
  });
  if (topology.workloads.length === 0 && !options.quiet) {
    writeLine(out.stderr, `warning: ${path}: ${NO_WORKLOADS}`);
  }
  if (options.semantics === "analyzer") {
    for (const policy of topology.policies) {
      const issues = analyzerIssues(policy);
      if (issues.length === 0) continue;
      const lineOf = topology.policyLines.get(policy);
      const source = policy.source ?? { file: path, document: 0 };
      const object = `NetworkPolicy "${policy.name}"`;
      const problem = lineOf ? { source, object, issues, lineOf } : { source, object, issues };
      throw new InputError(
        describeProblem(problem).join("\n"),
        undefined,
        "name the port by number, or pass --k8s-semantics (Kubernetes lets a named port towards an IP match nothing)",
      );
    }
  }
  return topology;
}

function checkFormat<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} ${value} is not a format of this command`, `use one of: ${allowed.join(", ")}`);
  }
  return value as T;
}

export async function analyzeList(options: AnalyzeListOptions, out: Output): Promise<void> {
  const format = checkFormat<ConnlistFormat>(options.output, CONNLIST_FORMATS, "-o");
  const direction = options.focusDirection;
  if (direction !== undefined && direction !== "ingress" && direction !== "egress") {
    throw new UsageError(`--focus-direction ${direction} is not a direction`, "use ingress or egress");
  }
  if (direction && options.focusWorkloads.length === 0) {
    throw new UsageError("--focus-direction needs --focusworkload", "name the workload with --focusworkload");
  }
  const topology = load(options.dirpath, options, out);
  const warn = (m: string) => {
    if (!options.quiet) writeLine(out.stderr, `warning: ${m}`);
  };
  const lines = focus(connectivityList(topology, { semantics: options.semantics, warn }), {
    workloads: options.focusWorkloads,
    peers: options.focusPeers,
    ...(direction ? { direction } : {}),
  });
  out.stdout.write(formatConnlist(lines, format));
}

export async function analyzeDiff(options: AnalyzeDiffOptions, out: Output): Promise<void> {
  const format = checkFormat<DiffFormat>(options.output, DIFF_FORMATS, "-o");
  const topo1 = load(options.dir1, options, out);
  const topo2 = load(options.dir2, options, out);
  out.stdout.write(formatSemanticDiff(semanticDiff(topo1, topo2, { semantics: options.semantics }), format));
}
