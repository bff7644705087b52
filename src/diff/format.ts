import { isoWindow, windowLines } from "../model/edge-hours.js";
import { type RuleRef, ruleRefToString } from "../policy/types.js";
import { type EdgeResult, type ObservedDiff, unusedRules } from "./observed-diff.js";

/** `flowpol diff` output: a terminal table, Markdown (for a pull request), or JSON. */
export const DIFF_REPORT_FORMATS = ["table", "markdown", "json"] as const;
export type DiffReportFormat = (typeof DIFF_REPORT_FORMATS)[number];

export interface FormatOptions {
  /** Where a rule is written (`policies/web.yaml:14`), when known. */
  locate?: (ref: RuleRef) => string | undefined;
}

const pct = (part: number, whole: number) => (whole === 0 ? "-" : `${Math.round((1000 * part) / whole) / 10}%`);
const port = (r: EdgeResult) => (r.edge.port ? `${r.edge.protocol}/${r.edge.port}` : r.edge.protocol);
const why = (r: EdgeResult, locate: FormatOptions["locate"]) => {
  if (r.status === "denied") {
    return r.deniedBy
      .map((d) => (d === "egress" ? "source egress isolated" : "destination ingress isolated"))
      .join(", ");
  }
  if (r.status === "unprotected") return "no policy selects either side";
  const rules = [...r.egress.rules, ...r.ingress.rules].map((ref) => ruleName(ref, locate));
  if (r.fromNode) rules.push("from the pod's node (always allowed)");
  return rules.join(", ");
};
const ruleName = (ref: RuleRef, locate: FormatOptions["locate"]) => {
  const at = locate?.(ref);
  return at ? `${ruleRefToString(ref)} (${at})` : ruleRefToString(ref);
};

function tables(d: ObservedDiff, o: FormatOptions) {
  const edgeRows = d.edges.map((r) => [
    r.status,
    r.edge.src.id,
    r.edge.dst.id,
    port(r),
    String(r.edge.flows),
    why(r, o.locate),
  ]);
  const ruleRows = d.rules.map((u) => [
    ruleRefToString(u.ref),
    o.locate?.(u.ref) ?? "",
    String(u.edges),
    String(u.flows),
    u.flows > 0 ? "" : u.exception ? `exception (${u.exception}), unused` : "UNUSED",
  ]);
  const nsRows = d.namespaces.map((c) => [
    c.namespace,
    c.defaultDenyIngress ? "yes" : "NO",
    c.defaultDenyEgress ? "yes" : "NO",
    `${c.selectedWorkloads}/${c.workloads} (${pct(c.selectedWorkloads, c.workloads)})`,
    `${c.allowedFlows + c.unprotectedFlows}/${c.flows} (${pct(c.allowedFlows + c.unprotectedFlows, c.flows)})`,
    String(c.deniedFlows),
  ]);
  return {
    edges: { header: ["status", "source", "destination", "port", "flows", "rules / reason"], rows: edgeRows },
    rules: { header: ["rule", "file", "edges", "flows", ""], rows: ruleRows },
    namespaces: {
      header: [
        "namespace",
        "default-deny ingress",
        "default-deny egress",
        "workloads selected",
        "flows allowed",
        "flows denied",
      ],
      rows: nsRows,
    },
  };
}

function summary(d: ObservedDiff): string {
  const t = d.totals;
  const edges = t.allowed.edges + t.denied.edges + t.unprotected.edges;
  const flows = t.allowed.flows + t.denied.flows + t.unprotected.flows;
  const unused = unusedRules(d).length;
  const exceptions = d.rules.filter((r) => r.flows === 0 && r.exception !== undefined).length;
  return (
    `${edges} observed edges (${flows} flows): ${t.allowed.edges} allowed, ${t.denied.edges} denied ` +
    `(${t.denied.flows} flows would break), ${t.unprotected.edges} unprotected; ` +
    `${d.rules.length} rules, ${unused} unused` +
    (exceptions > 0 ? ` (and ${exceptions} unused flowpol exception rules, kept on purpose)` : "") +
    (d.droppedEdges > 0 ? `; ${d.droppedEdges} dropped edges left out` : "") +
    (d.window ? `\n${windowLines(d.window).join("\n")}` : "")
  );
}

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].map((l) => `${l}\n`).join("");
}

function mdTable(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replaceAll("|", "\\|");
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ]
    .map((l) => `${l}\n`)
    .join("");
}

export function formatObservedDiff(d: ObservedDiff, format: DiffReportFormat, o: FormatOptions = {}): string {
  if (format === "json") return `${JSON.stringify(toJson(d, o), null, 2)}\n`;
  const t = tables(d, o);
  if (format === "markdown") {
    return [
      `## Observed traffic against declared NetworkPolicies\n\n${summary(d)}\n`,
      `### Edges\n\n${mdTable(t.edges.header, t.edges.rows)}`,
      `### Rules\n\n${mdTable(t.rules.header, t.rules.rows)}`,
      `### Coverage per namespace\n\n${mdTable(t.namespaces.header, t.namespaces.rows)}`,
    ].join("\n");
  }
  return [
    `${summary(d)}\n`,
    `EDGES\n${textTable(t.edges.header, t.edges.rows)}`,
    `RULES\n${textTable(t.rules.header, t.rules.rows)}`,
    `COVERAGE\n${textTable(t.namespaces.header, t.namespaces.rows)}`,
  ].join("\n");
}

function toJson(d: ObservedDiff, o: FormatOptions) {
  const ref = (r: RuleRef) => ({ ...r, ...(o.locate?.(r) ? { file: o.locate(r) } : {}) });
  return {
    totals: d.totals,
    droppedEdges: d.droppedEdges,
    ...(d.window ? { window: isoWindow(d.window) } : {}),
    edges: d.edges.map((r) => ({
      status: r.status,
      source: r.edge.src.id,
      destination: r.edge.dst.id,
      protocol: r.edge.protocol,
      port: r.edge.port,
      flows: r.edge.flows,
      egress: { isolated: r.egress.isolated, rules: r.egress.rules.map(ref) },
      ingress: { isolated: r.ingress.isolated, rules: r.ingress.rules.map(ref) },
      deniedBy: r.deniedBy,
      fromNode: r.fromNode,
    })),
    rules: d.rules.map((u) => ({
      ...ref(u.ref),
      edges: u.edges,
      flows: u.flows,
      unused: u.flows === 0,
      exception: u.exception ?? null,
    })),
    namespaces: d.namespaces,
  };
}
