import type { DependencyGraph, GraphNode } from "../graph/index.js";

/**
 * `flowpol graph --format html`: one self-contained page (inline CSS, script and data; no
 * network fetches). Namespaces are columns, workloads rows; hovering or searching a node
 * highlights its connections and lists them. Readable at a few hundred workloads: the page
 * scrolls instead of shrinking text.
 */
export function graphHtml(g: DependencyGraph, title = "flowpol dependency graph"): string {
  const nodes = [...g.nodes.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((n) => ({ id: n.id, group: group(n), label: label(n), type: n.type }));
  const port = (p: string, n: number) => (n > 0 ? `${p}/${n}` : p);
  const edges = [
    ...g.allowed.map((e) => ({
      from: e.from,
      to: e.to,
      port: port(e.protocol, e.port),
      count: e.count,
      denied: false,
    })),
    ...g.denied.map((e) => ({ from: e.from, to: e.to, port: port(e.protocol, e.port), count: e.count, denied: true })),
  ];
  const data = JSON.stringify({ nodes, edges }).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:8px 12px;z-index:2}
#search{width:320px;padding:4px}
#wrap{position:relative;padding:12px}
svg{position:absolute;left:0;top:0;pointer-events:none}
.col{position:absolute;width:220px}
.col h2{font-size:13px;margin:0 0 6px;padding:4px;background:#f0f0f0;border-radius:4px}
.node{margin:0 0 6px;padding:4px 6px;border:1px solid #999;border-radius:4px;background:#fff;cursor:pointer;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;height:18px}
.node.entity{border-style:dashed}.node.external{border-radius:12px}
.node.hit{background:#ffe9a8}.node.dim{opacity:.35}
path{fill:none;stroke:#4a7;stroke-opacity:.45}path.denied{stroke:#d33;stroke-dasharray:4 3}
path.hit{stroke-opacity:1;stroke-width:2}path.dim{stroke-opacity:.06}
#detail{position:fixed;right:12px;top:56px;width:360px;max-height:80vh;overflow:auto;background:#fff;border:1px solid #ccc;padding:8px;display:none;z-index:3}
</style></head><body>
<header><strong>${escapeHtml(title)}</strong> &middot; <span id="counts"></span> &middot;
<input id="search" placeholder="filter: namespace, workload, IP, DNS name"></header>
<div id="wrap"><svg id="svg"></svg></div><div id="detail"></div>
<script id="data" type="application/json">${data}</script>
<script>
const {nodes, edges} = JSON.parse(document.getElementById("data").textContent);
const wrap = document.getElementById("wrap"), svg = document.getElementById("svg");
const groups = [...new Set(nodes.map(n => n.group))];
const el = new Map();
groups.forEach((g, i) => {
  const col = document.createElement("div"); col.className = "col"; col.style.left = (12 + i * 300) + "px";
  const h = document.createElement("h2"); h.textContent = g; col.appendChild(h);
  for (const n of nodes.filter(n => n.group === g)) {
    const d = document.createElement("div"); d.className = "node " + n.type; d.textContent = n.label; d.title = n.id;
    d.onmouseenter = () => focus(n.id); d.onclick = () => focus(n.id, true); col.appendChild(d); el.set(n.id, d);
  }
  wrap.appendChild(col);
});
document.getElementById("counts").textContent = nodes.length + " nodes, " + edges.filter(e => !e.denied).length + " allowed and " + edges.filter(e => e.denied).length + " denied connections";
const paths = [];
function layout() {
  const box = wrap.getBoundingClientRect();
  svg.setAttribute("width", wrap.scrollWidth); svg.setAttribute("height", wrap.scrollHeight);
  svg.replaceChildren(); paths.length = 0;
  for (const e of edges) {
    const a = el.get(e.from).getBoundingClientRect(), b = el.get(e.to).getBoundingClientRect();
    const x1 = a.right - box.left, y1 = a.top + a.height / 2 - box.top, x2 = b.left - box.left, y2 = b.top + b.height / 2 - box.top;
    const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
    const dx = Math.max(40, Math.abs(x2 - x1) / 2);
    p.setAttribute("d", "M" + x1 + "," + y1 + " C" + (x1 + dx) + "," + y1 + " " + (x2 - dx) + "," + y2 + " " + x2 + "," + y2);
    if (e.denied) p.setAttribute("class", "denied");
    svg.appendChild(p); paths.push([e, p]);
  }
  wrap.style.height = Math.max(...[...el.values()].map(d => d.offsetTop + 40), 200) + "px";
  svg.setAttribute("height", wrap.scrollHeight);
}
function focus(id, pin) {
  const linked = new Set([id]);
  for (const [e, p] of paths) {
    const hit = e.from === id || e.to === id;
    p.classList.toggle("hit", hit); p.classList.toggle("dim", !hit);
    if (hit) { linked.add(e.from); linked.add(e.to); }
  }
  for (const [nid, d] of el) { d.classList.toggle("hit", nid === id); d.classList.toggle("dim", !linked.has(nid)); }
  if (pin) {
    const det = document.getElementById("detail"); det.style.display = "block";
    const rows = edges.filter(e => e.from === id || e.to === id).map(e => (e.denied ? "DENIED " : "") + e.from + " \\u2192 " + e.to + " " + e.port + " (" + e.count + ")");
    det.replaceChildren(Object.assign(document.createElement("strong"), {textContent: id}));
    for (const r of rows) det.appendChild(Object.assign(document.createElement("div"), {textContent: r}));
  }
}
document.getElementById("search").oninput = (ev) => {
  const q = ev.target.value.toLowerCase();
  for (const n of nodes) el.get(n.id).classList.toggle("dim", q !== "" && !(n.id + " " + n.label).toLowerCase().includes(q));
};
layout(); window.onresize = layout;
</script></body></html>
`;
}

function group(n: GraphNode): string {
  if (n.type === "workload") return n.namespace;
  return n.type === "entity" ? "platform" : "external";
}

function label(n: GraphNode): string {
  if (n.type === "workload") return `${n.name} (${n.kind})`;
  if (n.type === "entity") return n.entity;
  return n.dnsNames.length > 0 ? `${n.ip} ${n.dnsNames.join(", ")}` : n.ip;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
