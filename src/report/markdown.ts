import { windowLines } from "../model/edge-hours.js";
import { markdownText } from "../render/markdown-text.js";
import type { Findings } from "./findings.js";
import { NO_SHARED, SHARED_HEADERS, sharedRows } from "./shared.js";
import { formatSpan } from "./span.js";

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString().replace(".000Z", "Z"));

function cell(s: string | number): string {
  // A pipe already escaped by markdownText stays one escape.
  return String(s)
    .replace(/(?<!\\)\|/g, "\\|")
    .replace(/\n/g, " ");
}

function table(headers: string[], rows: Array<Array<string | number>>, align?: string[]): string[] {
  return [
    `| ${headers.join(" | ")} |`,
    `|${headers.map((_, i) => align?.[i] ?? "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ];
}

function none(what: string): string[] {
  return [`_${what}_`];
}

/** The discovery report as Markdown (GitHub and GitLab render the Mermaid block). Deterministic. */
export function reportMarkdown(f: Findings, mermaid: string, coverage: string | undefined): string {
  const out: string[] = ["# flowpol discovery report", ""];
  trustSection(f, out);
  workloadSections(f, out);
  out.push("## Dependency graph", "", "```mermaid", mermaid, "```", "");
  out.push("## Shared services", "");
  out.push(...(f.sharedServices.length ? table(SHARED_HEADERS, sharedRows(f.sharedServices)) : none(NO_SHARED)), "");
  trafficSections(f, out);
  if (coverage !== undefined) out.push("## Declared policies: coverage and gaps", "", coverage, "");
  return `${out.join("\n").trimEnd()}\n`;
}

/** The window, the sources and what they lost: how far the rest of the report can be trusted. */
function trustSection(f: Findings, out: string[]): void {
  out.push("## Observation window and trust", "");
  out.push(
    `- Window: ${iso(f.window.since)} to ${iso(f.window.until)}: ${formatSpan(f.window.spanMs)}, ${f.window.calendarDays} calendar day(s) (UTC).`,
    ...(f.counted ? [`- ${windowLines(f.counted).join(" ")}`] : []),
    `- Sources: ${f.sources.map((s) => `${s.system} (${s.ingests} ingest(s), ${s.flows} flows, ${s.badLines} bad lines)`).join(", ") || "none"}.`,
    `- Lost events: ${f.lostEvents}${f.lostEvents > 0 ? " (Hubble dropped flow records: the graph may miss flows)" : ""}.`,
    `- Unavailable nodes: ${f.unavailableNodes.length ? f.unavailableNodes.map(markdownText).join(", ") : "none reported"}.`,
    `- Workloads: ${f.workloads.length}; seen on one day only: ${f.oneDayWorkloads.length}; Jobs/CronJobs seen in few runs: ${f.rareJobs.length}.`,
    "",
  );
  if (f.gaps.length > 0) {
    out.push("### Gaps by source", "");
    out.push(
      ...table(
        ["source", "kind", "node", "detail", "count", "first", "last"],
        f.gaps.map((g) => [
          g.sourceSystem,
          g.kind,
          markdownText(g.node || "-"),
          markdownText(g.detail || "-"),
          g.count,
          iso(g.firstSeen),
          iso(g.lastSeen),
        ]),
      ),
      "",
    );
  }
}

function workloadSections(f: Findings, out: string[]): void {
  out.push("### Workloads", "");
  out.push(
    ...(f.workloads.length
      ? table(
          ["namespace", "kind", "name", "pods", "flows", "first seen", "last seen", "one day only"],
          f.workloads.map((w) => [
            w.namespace,
            w.kind,
            w.name,
            w.pods,
            w.flows,
            iso(w.firstSeen),
            iso(w.lastSeen),
            w.oneDayOnly ? "yes" : "",
          ]),
        )
      : none("No workloads in the store.")),
    "",
  );
  out.push("### Jobs and CronJobs seen in few runs", "");
  out.push(
    ...(f.rareJobs.length
      ? table(
          ["namespace", "kind", "name", "runs (pods)", "first seen", "last seen"],
          f.rareJobs.map((w) => [w.namespace, w.kind, w.name, w.pods, iso(w.firstSeen), iso(w.lastSeen)]),
        )
      : none("None.")),
    "",
  );
}

/** Where traffic leaves the cluster, and what was dropped or audited. */
function trafficSections(f: Findings, out: string[]): void {
  out.push("## External destinations", "");
  out.push(
    ...(f.externalDestinations.length
      ? table(
          ["IP", "DNS names", "ports", "callers", "flows"],
          f.externalDestinations.map((x) => [
            x.ip,
            x.dnsNames.join(", ") || "-",
            x.ports.join(", "),
            x.callers.join(", "),
            x.flows,
          ]),
        )
      : none("None.")),
    "",
  );
  out.push("## Cloud metadata address", "");
  out.push(
    ...(f.metadataCalls.length
      ? [
          "**Called.** Workloads that reach the cloud metadata service can often read node credentials; flowpol never allows it unless asked.",
          "",
          ...table(
            ["caller", "address", "port", "verdict", "flows"],
            f.metadataCalls.map((m) => [m.caller, m.ip, m.port, m.verdict, m.flows]),
          ),
        ]
      : none("Not called.")),
    "",
  );
  out.push("## Flows dropped or audited", "");
  out.push(
    ...(f.droppedOrAudited.length
      ? table(
          ["from", "to", "port", "verdict", "reason", "policies", "flows", "last seen"],
          f.droppedOrAudited.map((d) => [
            d.src,
            d.dst,
            `${d.port}/${d.protocol}`,
            d.verdict,
            markdownText(d.dropReason || "-"),
            d.policies.map(markdownText).join(", ") || "-",
            d.count,
            iso(d.lastSeen),
          ]),
        )
      : none("None.")),
    "",
  );
}
