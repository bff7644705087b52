import type { NamespaceCoverage, ReplayResult } from "./policy-verdicts.js";

function cell(s: string | number): string {
  return String(s).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

const pct = (n: number, d: number) => (d === 0 ? "-" : `${Math.round((100 * n) / d)}%`);

export function wouldDenyMarkdown(r: ReplayResult): string {
  const head = `Judged ${r.replayed} observed connection(s) through the policies as \`flowpol diff\` does.`;
  if (r.wouldDeny.length === 0) return `${head} None would be denied.`;
  return [
    `${head} **${r.wouldDeny.length} would be denied:**`,
    "",
    "| from | to | port | flows | stopped at |",
    "|---|---|---|---:|---|",
    ...r.wouldDeny.map((d) => `| ${cell(d.src)} | ${cell(d.dst)} | ${d.port}/${d.protocol} | ${d.flows} | ${d.side} |`),
  ].join("\n");
}

export function unusedRulesMarkdown(r: ReplayResult): string {
  if (r.unusedRules.length === 0) return "_None: every declared rule allows at least one observed connection._";
  return [
    `${r.unusedRules.length} declared rule(s) allow no observed connection:`,
    "",
    ...r.unusedRules.map((u) => `- \`${u}\``),
  ].join("\n");
}

export function coverageRows(c: readonly NamespaceCoverage[]): Array<Array<string | number>> {
  return c.map((n) => [
    n.namespace,
    n.defaultDenyIngress ? "yes" : "no",
    n.defaultDenyEgress ? "yes" : "no",
    `${n.selectedWorkloads}/${n.workloads} (${pct(n.selectedWorkloads, n.workloads)})`,
    `${n.allowedFlows}/${n.flows} (${pct(n.allowedFlows, n.flows)})`,
    n.deniedFlows,
    n.unprotectedFlows,
  ]);
}

export const COVERAGE_HEADERS = [
  "namespace",
  "default-deny ingress",
  "default-deny egress",
  "workloads selected",
  "observed flows allowed",
  "flows denied",
  "flows unprotected",
];

export function coverageMarkdown(r: ReplayResult): string {
  return [
    `| ${COVERAGE_HEADERS.join(" | ")} |`,
    `|${COVERAGE_HEADERS.map(() => "---").join("|")}|`,
    ...coverageRows(r.coverage).map((row) => `| ${row.map(cell).join(" | ")} |`),
    "",
    "### Observed connections the declared policies would deny",
    "",
    wouldDenyMarkdown(r),
    "",
    "### Declared rules that nothing used",
    "",
    unusedRulesMarkdown(r),
  ].join("\n");
}
