import { readFileSync } from "node:fs";
import { Command } from "commander";
import { DIFF_REPORT_FORMATS, type DiffReportFormat, formatObservedDiff } from "../../diff/format.js";
import { diffInput, diffObserved, unusedRules } from "../../diff/observed-diff.js";
import { CheckFailedError, UsageError } from "../../errors.js";
import type { RuleRef } from "../../policy/types.js";
import { loadTopology } from "../../policy-io/load-topology.js";
import { resolveDbPath } from "../../store/db.js";
import type { ObservedWindow } from "../../store/store.js";
import { collectList } from "../flags.js";
import { addOutputOptions, addWindowOptions, dbOption, readClusterOption, windowOf } from "../options.js";
import { type Output, writeLine } from "../output.js";
import { readingStore } from "../read-store.js";

export function define(out: Output): Command {
  const cmd = new Command("diff")
    .description(
      "observed traffic against declared NetworkPolicies: allowed, denied, unprotected; unused rules; coverage",
    )
    .requiredOption("--policies <paths...>", "policy files or folders (read recursively; YAML or JSON), or - for stdin")
    .addOption(dbOption())
    .addOption(readClusterOption());
  addWindowOptions(cmd).option(
    "--fail-on <checks>",
    "exit 3 when: denied (an observed flow would break), unused (a rule nothing uses)",
    collectList,
    [],
  );
  const spec = { formats: DIFF_REPORT_FORMATS, default: "table", legacyFormat: true };
  return addOutputOptions(cmd, spec, out).action(async (o) => {
    await diff(
      {
        policies: o.policies,
        db: resolveDbPath(o.db),
        cluster: o.cluster,
        format: o.output,
        failOn: o.failOn,
        window: windowOf(o, Date.now()),
      },
      out,
    );
  });
}

/**
 * `flowpol diff --policies PATH...`: observed traffic (the store) against declared policies.
 * With --fail-on it is a CI gate: exit 3 when an observed flow would be denied, or a rule is unused.
 */
export const FAIL_ON = ["denied", "unused"] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface DiffOptions {
  policies: string[];
  db: string;
  cluster?: string | undefined;
  format: string;
  failOn: string[];
  /** `--since`/`--until` (ms): judge only the flows in this window. */
  window?: ObservedWindow;
  /** Reads stdin when a path is `-` (injected for tests). */
  stdin?: () => string;
}

export async function diff(options: DiffOptions, out: Output): Promise<void> {
  if (!(DIFF_REPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new UsageError(`-o ${options.format} is not a format`, `use one of: ${DIFF_REPORT_FORMATS.join(", ")}`);
  }
  for (const f of options.failOn) {
    if (!(FAIL_ON as readonly string[]).includes(f)) {
      throw new UsageError(`--fail-on ${f} is not a check`, `use one of: ${FAIL_ON.join(", ")}`);
    }
  }
  if (options.policies.length === 0)
    throw new UsageError("no policies given", "pass --policies PATH... (files, folders, or - for stdin)");
  const { topology } = loadTopology(options.policies, {
    stdin: options.stdin ?? (() => readFileSync(0, "utf8")),
    warn: (m) => writeLine(out.stderr, `warning: ${m}`),
  });
  if (topology.policies.length === 0) {
    writeLine(
      out.stderr,
      `warning: no policy in ${options.policies.join(", ")} (flowpol reads NetworkPolicy, CiliumNetworkPolicy and StagedKubernetesNetworkPolicy): every observed edge is unprotected`,
    );
  }
  const observed = await readingStore(options.db, options.cluster, (read) =>
    read.store.readObserved(options.window ?? {}, read.cluster),
  );
  const result = diffObserved(diffInput(observed, topology));

  const byName = new Map(topology.policies.map((p) => [`${p.namespace}/${p.name}`, p]));
  // Rules are named by index (ingress[0]); the location is where their policy starts, which costs
  // nothing to know (exact field lines need a full YAML parse: lint and errors pay for that).
  const locate = (ref: RuleRef) => {
    const source = byName.get(`${ref.namespace}/${ref.policy}`)?.source;
    if (!source) return undefined;
    return source.line === undefined ? source.file : `${source.file}:${source.line}`;
  };
  out.stdout.write(formatObservedDiff(result, options.format as DiffReportFormat, { locate }));

  const failures: string[] = [];
  if (options.failOn.includes("denied") && result.totals.denied.edges > 0) {
    failures.push(`${result.totals.denied.edges} observed edges (${result.totals.denied.flows} flows) would be denied`);
  }
  const unused = unusedRules(result);
  if (options.failOn.includes("unused") && unused.length > 0)
    failures.push(`${unused.length} declared rules are used by no observed flow`);
  if (failures.length > 0) {
    throw new CheckFailedError(
      failures.join("; "),
      "allow the denied flows (or confirm they should stop), and remove or justify the unused rules; the report above names them",
    );
  }
}
