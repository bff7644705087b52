import type { Findings } from "./findings.js";
import type { GraphView } from "./graph-view.js";
import type { ReplayResult } from "./policy-verdicts.js";
import { COVERAGE_HEADERS, coverageRows } from "./policy-verdicts-text.js";
import { NO_SHARED, SHARED_HEADERS, sharedRows } from "./shared.js";
import { formatSpan } from "./span.js";

/**
 * The discovery report as one self-contained HTML page: no network fetches, the graph drawn in
 * SVG by an inline script from inline JSON data, with search, click-to-focus and zoom.
 */

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString().replace(".000Z", "Z"));

export function escapeHtml(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

function table(headers: string[], rows: Array<Array<string | number>>, empty: string): string {
  if (rows.length === 0) return `<p class="none">${escapeHtml(empty)}</p>`;
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Layers from the callers to the called (longest path, cycles cut), rows sorted by label. */
export function layout(view: GraphView): Record<string, { x: number; y: number }> {
  const incoming = new Map<string, string[]>();
  for (const n of view.nodes) incoming.set(n.id, []);
  for (const l of view.links) if (l.source !== l.target) incoming.get(l.target)?.push(l.source);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const d = Math.max(-1, ...(incoming.get(id) ?? []).map(depth)) + 1;
    visiting.delete(id);
    layer.set(id, d);
    return d;
  };
  const columns = new Map<number, string[]>();
  for (const n of view.nodes) {
    const d = depth(n.id);
    columns.set(d, [...(columns.get(d) ?? []), n.id]);
  }
  const pos: Record<string, { x: number; y: number }> = {};
  for (const [d, ids] of columns) {
    ids.forEach((id, i) => {
      pos[id] = { x: 40 + d * 280, y: 40 + i * 44 };
    });
  }
  return pos;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#fff}
header{padding:16px 24px;background:#0d2538;color:#fff}header h1{margin:0;font-size:20px}
main{padding:8px 24px 40px}h2{margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7}.none{color:#57606a;font-style:italic}.warn{color:#9a3412;font-weight:600}
#graph-wrap{border:1px solid #d0d7de;border-radius:6px;height:70vh;min-height:420px;overflow:hidden;position:relative;background:#fbfcfd}
#graph{width:100%;height:100%;cursor:grab}#tools{margin:8px 0;display:flex;gap:12px;align-items:center}
#tools input{padding:4px 8px;font:inherit;width:260px}
.node rect{stroke-width:1.5px;rx:6px}.node text{font-size:12px;pointer-events:none}
.node.workload rect{fill:#e8f1fb;stroke:#2f6fb0}.node.entity rect{fill:#f4ecfb;stroke:#7a3fb0}
.node.external rect{fill:#fdf0e6;stroke:#c2620a}.node.unknown rect{fill:#eee;stroke:#777}
.link{fill:none;stroke:#8c959f;stroke-width:1.2px}.link.hot{stroke:#d1242f;stroke-width:2.4px}
.dim{opacity:.15}.legend span{display:inline-block;padding:1px 8px;border:1px solid;border-radius:4px;margin-right:6px;font-size:12px}
`;

const SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("graph");
  var root = document.createElementNS(NS, "g");
  svg.appendChild(root);
  var defs = document.createElementNS(NS, "defs");
  defs.innerHTML = '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#8c959f"/></marker>';
  svg.appendChild(defs);
  var W = 230, H = 28, nodes = {}, links = [];
  data.links.forEach(function(l){
    var a = data.pos[l.source], b = data.pos[l.target];
    var p = document.createElementNS(NS, "path");
    var x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    if (l.source === l.target) { p.setAttribute("d", "M" + x1 + "," + y1 + "c40,-30 40,30 0,10"); }
    else { var mx = (x1 + x2) / 2; p.setAttribute("d", "M" + x1 + "," + y1 + "C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2); }
    p.setAttribute("class", "link");
    p.setAttribute("marker-end", "url(#arrow)");
    var t = document.createElementNS(NS, "title");
    t.textContent = l.ports.join(", ") + " (" + l.flows + " flows)";
    p.appendChild(t);
    root.appendChild(p);
    links.push({ el: p, source: l.source, target: l.target });
  });
  data.nodes.forEach(function(n){
    var pos = data.pos[n.id];
    var g = document.createElementNS(NS, "g");
    g.setAttribute("class", "node " + n.type);
    g.setAttribute("data-id", n.id);
    g.setAttribute("transform", "translate(" + pos.x + "," + pos.y + ")");
    var r = document.createElementNS(NS, "rect");
    r.setAttribute("width", W); r.setAttribute("height", H);
    var tx = document.createElementNS(NS, "text");
    tx.setAttribute("x", 8); tx.setAttribute("y", 18);
    tx.textContent = n.label.length > 34 ? n.label.slice(0, 33) + "\\u2026" : n.label;
    var title = document.createElementNS(NS, "title");
    title.textContent = n.label;
    g.appendChild(r); g.appendChild(tx); g.appendChild(title);
    root.appendChild(g);
    nodes[n.id] = { el: g, label: n.label.toLowerCase() };
    g.addEventListener("click", function(ev){ ev.stopPropagation(); focus(n.id); });
  });
  function focus(id){
    var keep = {}; keep[id] = true;
    links.forEach(function(l){
      var hot = l.source === id || l.target === id;
      if (hot) { keep[l.source] = true; keep[l.target] = true; }
      l.el.classList.toggle("hot", hot); l.el.classList.toggle("dim", !hot);
    });
    Object.keys(nodes).forEach(function(k){ nodes[k].el.classList.toggle("dim", !keep[k]); });
  }
  function clear(){
    links.forEach(function(l){ l.el.classList.remove("hot", "dim"); });
    Object.keys(nodes).forEach(function(k){ nodes[k].el.classList.remove("dim"); });
  }
  document.getElementById("search").addEventListener("input", function(ev){
    var q = ev.target.value.trim().toLowerCase();
    if (!q) { clear(); return; }
    Object.keys(nodes).forEach(function(k){ nodes[k].el.classList.toggle("dim", nodes[k].label.indexOf(q) < 0); });
    links.forEach(function(l){ l.el.classList.add("dim"); l.el.classList.remove("hot"); });
  });
  svg.addEventListener("click", clear);
  var box = root.getBBox();
  var view = { x: box.x - 20, y: box.y - 20, w: Math.max(box.width + 40, 400), h: Math.max(box.height + 40, 300) };
  function apply(){ svg.setAttribute("viewBox", view.x + " " + view.y + " " + view.w + " " + view.h); }
  apply();
  svg.addEventListener("wheel", function(ev){
    ev.preventDefault();
    var k = ev.deltaY > 0 ? 1.15 : 1 / 1.15, rect = svg.getBoundingClientRect();
    var fx = (ev.clientX - rect.left) / rect.width, fy = (ev.clientY - rect.top) / rect.height;
    var nw = view.w * k, nh = view.h * k;
    view.x += (view.w - nw) * fx; view.y += (view.h - nh) * fy; view.w = nw; view.h = nh; apply();
  }, { passive: false });
  var drag = null;
  svg.addEventListener("mousedown", function(ev){ drag = { x: ev.clientX, y: ev.clientY }; });
  window.addEventListener("mouseup", function(){ drag = null; });
  window.addEventListener("mousemove", function(ev){
    if (!drag) return;
    var rect = svg.getBoundingClientRect();
    view.x -= (ev.clientX - drag.x) * view.w / rect.width; view.y -= (ev.clientY - drag.y) * view.h / rect.height;
    drag = { x: ev.clientX, y: ev.clientY }; apply();
  });
  document.body.setAttribute("data-graph-nodes", String(data.nodes.length));
})();
`;

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

export function reportHtml(f: Findings, view: GraphView, coverage: ReplayResult | undefined): string {
  const data = { nodes: view.nodes, links: view.links, pos: layout(view) };
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
    `<li>Window: ${escapeHtml(iso(f.window.since))} to ${escapeHtml(iso(f.window.until))}: ${formatSpan(f.window.spanMs)}, ${f.window.calendarDays} calendar day(s) (UTC).</li>`,
    `<li>Sources: ${escapeHtml(f.sources.map((x) => `${x.system} (${x.ingests} ingest(s), ${x.flows} flows, ${x.badLines} bad lines)`).join(", ") || "none")}.</li>`,
    `<li${f.lostEvents > 0 ? ' class="warn"' : ""}>Lost events: ${f.lostEvents}.</li>`,
    `<li>Unavailable nodes: ${escapeHtml(f.unavailableNodes.join(", ") || "none reported")}.</li>`,
    `<li>Workloads: ${f.workloads.length}; seen on one day only: ${f.oneDayWorkloads.length}; Jobs/CronJobs seen in few runs: ${f.rareJobs.length}.</li>`,
    "</ul>",
    "<h2>Dependency graph</h2>",
    '<div class="legend"><span style="border-color:#2f6fb0">workload</span><span style="border-color:#7a3fb0">platform entity</span><span style="border-color:#c2620a">external</span> click a node to show its flows; wheel to zoom; drag to pan</div>',
    `<div id="tools"><input id="search" type="search" placeholder="find a workload..." aria-label="find a workload"><span>${view.nodes.length} nodes, ${view.links.length} links</span></div>`,
    '<div id="graph-wrap"><svg id="graph" role="img" aria-label="dependency graph"></svg></div>',
    `<script type="application/json" id="graph-data">${scriptJson(data)}</script>`,
    `<script>${SCRIPT}</script>`,
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
