import { windowLines } from "../model/edge-hours.js";
import { GRAPH_STYLE, graphDrawing } from "../render/graph-drawing.js";
import type { GraphLayout } from "../render/graph-layout.js";
import type { GraphView } from "../render/graph-view.js";
import { escapeHtml } from "../render/html-text.js";
import type { Findings } from "./findings.js";
import type { ReplayResult } from "./policy-verdicts.js";
import { COVERAGE_HEADERS, coverageRows } from "./policy-verdicts-text.js";
import { NO_SHARED, SHARED_HEADERS, sharedRows } from "./shared.js";
import { formatSpan } from "./span.js";

/**
 * The discovery report as one self-contained HTML page: no network fetches; the graph is the
 * drawing `flowpol graph --format html` shows (src/render/graph-drawing.ts), laid out beforehand.
 */

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString().replace(".000Z", "Z"));

function table(headers: string[], rows: Array<Array<string | number>>, empty: string): string {
  if (rows.length === 0) return `<p class="none">${escapeHtml(empty)}</p>`;
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#fff}
header{padding:16px 24px;background:#0d2538;color:#fff}header h1{margin:0;font-size:20px}
main{padding:8px 24px 40px}h2{margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7}.none{color:#57606a;font-style:italic}.warn{color:#9a3412;font-weight:600}
.legend span{display:inline-block;padding:1px 8px;border:1px solid;border-radius:4px;margin-right:6px;font-size:12px}
${GRAPH_STYLE}`;

function coverageSection(r: ReplayResult): string {
  return [
    table(COVERAGE_HEADERS, coverageRows(r.coverage), "No workloads."),
    "<h3>Observed connections the declared policies would deny</h3>",
    `<p>Judged ${r.replayed} observed connection(s) through the policies as <code>flowpol diff</code> does.</p>`,
    table(
      ["from", "to", "port", "flows", "stopped at"],
      r.wouldDeny.map((d) => [d.src, d.dst, `${d.port}/${d.protocol}`, d.flows, d.side]),
      "None would be denied.",
    ),
    "<h3>Declared rules that nothing used</h3>",
    table(
      ["rule"],
      r.unusedRules.map((u) => [u]),
      "None: every declared rule allows at least one observed connection.",
    ),
  ].join("\n");
}

export function reportHtml(
  f: Findings,
  graph: { view: GraphView; layout: GraphLayout },
  coverage: ReplayResult | undefined,
): string {
  const s: string[] = [];
  s.push(
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    "<title>flowpol discovery report</title>",
    `<style>${STYLE}</style></head><body>`,
    "<header><h1>flowpol discovery report</h1></header><main>",
    "<h2>Observation window and trust</h2><ul>",
    `<li>Window: ${escapeHtml(iso(f.window.since))} to ${escapeHtml(iso(f.window.until))}: ${formatSpan(f.window.spanMs)}, ${f.window.calendarDays} calendar day(s) (UTC).${f.counted ? ` ${escapeHtml(windowLines(f.counted).join(" "))}` : ""}</li>`,
    `<li>Sources: ${escapeHtml(f.sources.map((x) => `${x.system} (${x.ingests} ingest(s), ${x.flows} flows, ${x.badLines} bad lines)`).join(", ") || "none")}.</li>`,
    `<li${f.lostEvents > 0 ? ' class="warn"' : ""}>Lost events: ${f.lostEvents}.</li>`,
    `<li>Unavailable nodes: ${escapeHtml(f.unavailableNodes.join(", ") || "none reported")}.</li>`,
    `<li>Workloads: ${f.workloads.length}; seen on one day only: ${f.oneDayWorkloads.length}; Jobs/CronJobs seen in few runs: ${f.rareJobs.length}.</li>`,
    "</ul>",
    "<h2>Dependency graph</h2>",
    '<div class="legend"><span style="border-color:#2f6fb0">workload</span><span style="border-color:#7a3fb0">platform entity</span><span style="border-color:#c2620a">outside the cluster</span><span style="border-color:#d1242f;border-style:dashed">denied</span></div>',
    graphDrawing(graph.view, graph.layout),
  );
  if (f.gaps.length > 0) {
    s.push(
      "<h2>Gaps by source</h2>",
      table(
        ["source", "kind", "node", "detail", "count", "first", "last"],
        f.gaps.map((g) => [
          g.sourceSystem,
          g.kind,
          g.node || "-",
          g.detail || "-",
          g.count,
          iso(g.firstSeen),
          iso(g.lastSeen),
        ]),
        "",
      ),
    );
  }
  s.push(
    "<h2>Workloads</h2>",
    table(
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
      "No workloads in the store.",
    ),
    "<h2>Jobs and CronJobs seen in few runs</h2>",
    table(
      ["namespace", "kind", "name", "runs (pods)", "first seen", "last seen"],
      f.rareJobs.map((w) => [w.namespace, w.kind, w.name, w.pods, iso(w.firstSeen), iso(w.lastSeen)]),
      "None.",
    ),
    "<h2>Shared services</h2>",
    table(SHARED_HEADERS, sharedRows(f.sharedServices), NO_SHARED),
    "<h2>External destinations</h2>",
    table(
      ["IP", "DNS names", "ports", "callers", "flows"],
      f.externalDestinations.map((x) => [
        x.ip,
        x.dnsNames.join(", ") || "-",
        x.ports.join(", "),
        x.callers.join(", "),
        x.flows,
      ]),
      "None.",
    ),
    "<h2>Cloud metadata address</h2>",
    f.metadataCalls.length
      ? `<p class="warn">Called. Workloads that reach the cloud metadata service can often read node credentials; flowpol never allows it unless asked.</p>${table(
          ["caller", "address", "port", "verdict", "flows"],
          f.metadataCalls.map((m) => [m.caller, m.ip, m.port, m.verdict, m.flows]),
          "",
        )}`
      : '<p class="none">Not called.</p>',
    "<h2>Flows dropped or audited</h2>",
    table(
      ["from", "to", "port", "verdict", "reason", "policies", "flows", "last seen"],
      f.droppedOrAudited.map((d) => [
        d.src,
        d.dst,
        `${d.port}/${d.protocol}`,
        d.verdict,
        d.dropReason || "-",
        d.policies.join(", ") || "-",
        d.count,
        iso(d.lastSeen),
      ]),
      "None.",
    ),
  );
  if (coverage !== undefined) s.push("<h2>Declared policies: coverage and gaps</h2>", coverageSection(coverage));
  s.push("</main></body></html>", "");
  return s.join("\n");
}
