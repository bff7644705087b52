import { readFileSync } from "node:fs";
import { Command } from "commander";
import { CheckFailedError, UsageError } from "../../errors.js";
import { type Finding, lint as lintTopology, type Severity } from "../../policy/lint.js";
import type { Topology } from "../../policy/objects.js";
import { loadTopology } from "../../policy-io/load-topology.js";
import { collectList } from "../flags.js";
import { addOutputOptions } from "../options.js";
import { type Output, writeLine } from "../output.js";

export function define(out: Output): Command {
  const cmd = new Command("lint")
    .description(
      "review NetworkPolicy manifests: split peers, missing DNS, allow-alls, flat trust, missing default deny...",
    )
    .argument(
      "<paths...>",
      "manifest files or folders (policies, and the Pods/workloads/Namespaces they apply to), or -",
    )
    .option("--fail-on <severity>", "exit 3 on findings at this level or above: error, warning, info, never", "warning")
    .option(
      "--cluster-cidr <cidr>",
      "pod and Service address ranges, for ipBlock checks (repeat or comma-separate)",
      collectList,
      [],
    );
  return addOutputOptions(cmd, { formats: ["text", "json"], default: "text", legacyFormat: true }, out).action(
    async (paths: string[], o) => {
      await lint({ paths, format: o.output, failOn: o.failOn, clusterCidrs: o.clusterCidr }, out);
    },
  );
}

/**
 * `flowpol lint PATH...`: findings on NetworkPolicy manifests (with the Pods, workloads and
 * Namespaces given beside them). Exit 3 when a finding reaches --fail-on.
 */
export interface LintOptions {
  paths: string[];
  format: string;
  failOn: string;
  clusterCidrs: string[];
  stdin?: () => string;
}

/** What lint could not judge for lack of input, said on stderr so that an empty report is not read as a clean one. */
export function missingInputs(topology: Topology): string[] {
  const notes: string[] = [];
  if (topology.policies.length + topology.nameProblems.length === 0) {
    const others = topology.ignored > 0 ? ` (${topology.ignored} objects of other kinds were skipped)` : "";
    notes.push(`no NetworkPolicies found${others}: nothing to review`);
  }
  if (topology.workloads.length === 0) {
    notes.push(
      `no workloads found (Pods, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs): ${WORKLOAD_RULES.join(", ")} were skipped and NP002 judged the pods the policies name; pass the workload manifests too`,
    );
  }
  return notes;
}

const WORKLOAD_RULES = ["NP006", "NP008"];

const FAIL_LEVELS = ["error", "warning", "info", "never"] as const;
const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export async function lint(options: LintOptions, out: Output): Promise<void> {
  if (!["text", "json"].includes(options.format)) {
    throw new UsageError(`-o ${options.format} is not a format`, "use text or json");
  }
  if (!(FAIL_LEVELS as readonly string[]).includes(options.failOn)) {
    throw new UsageError(`--fail-on ${options.failOn} is not a severity`, `use one of: ${FAIL_LEVELS.join(", ")}`);
  }
  if (options.paths.length === 0) throw new UsageError("no manifests given", "pass files, folders, or - for stdin");
  const { topology } = loadTopology(options.paths, {
    stdin: options.stdin ?? (() => readFileSync(0, "utf8")),
    nameProblems: "caller",
    warn: (m) => writeLine(out.stderr, `warning: ${m}`),
  });
  for (const note of missingInputs(topology)) writeLine(out.stderr, `note: ${note}`);
  if (topology.policies.length === 0) {
    writeLine(
      out.stderr,
      `warning: no policy in ${options.paths.join(", ")} (flowpol reads NetworkPolicy, CiliumNetworkPolicy and StagedKubernetesNetworkPolicy)`,
    );
  }
  const findings = lintTopology(topology, { clusterCidrs: options.clusterCidrs });
  const where = (f: Finding) => {
    if (!f.policy?.source) return `namespace ${f.namespace}`;
    const line = topology.policyLines.get(f.policy)?.(f.path) ?? f.policy.source.line;
    return line === undefined ? f.policy.source.file : `${f.policy.source.file}:${line}`;
  };
  if (options.format === "json") {
    const rows = findings.map((f) => ({
      id: f.id,
      severity: f.severity,
      location: where(f),
      namespace: f.namespace,
      policy: f.policy?.name ?? null,
      path: f.path,
      message: f.message,
      fix: f.fix,
    }));
    writeLine(out.stdout, JSON.stringify(rows, null, 2));
  } else {
    for (const f of findings) {
      writeLine(out.stdout, `${where(f)}: ${f.severity} ${f.id}: ${f.message}`);
      writeLine(out.stdout, `  fix: ${f.fix}`);
    }
    const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
    writeLine(
      out.stdout,
      `${topology.policies.length} policies: ${count("error")} errors, ${count("warning")} warnings, ${count("info")} notes`,
    );
  }
  if (options.failOn === "never") return;
  const failing = findings.filter((f) => RANK[f.severity] <= RANK[options.failOn as Severity]);
  if (failing.length > 0) {
    throw new CheckFailedError(
      `${failing.length} findings at ${options.failOn} level or above`,
      "fix them as each `fix:` line says, or raise --fail-on",
    );
  }
}
