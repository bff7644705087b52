import { readFileSync } from "node:fs";
import { InputError, UsageError } from "../../errors.js";
import { analyzerIssues } from "../../policy/analyzer-checks.js";
import { semanticDiff } from "../../policy/connectivity-change.js";
import { DIFF_FORMATS, type DiffFormat, formatSemanticDiff } from "../../policy/connectivity-change-format.js";
import { connectivityList, focus } from "../../policy/connlist.js";
import { CONNLIST_FORMATS, type ConnlistFormat, formatConnlist } from "../../policy/connlist-format.js";
import type { Semantics } from "../../policy/engine.js";
import type { Topology } from "../../policy/objects.js";
import { describeProblem, loadTopology } from "../../policy-io/load-topology.js";
import { type Output, writeLine } from "../output.js";

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
