import { cut, type GraphLayout } from "./graph-layout.js";
import type { GraphView, ViewNode } from "./graph-view.js";
import { escapeHtml, scriptJson } from "./html-text.js";

/**
 * The dependency graph as an HTML fragment: an SVG drawn from the layout (nothing is positioned in
 * the browser), a side panel (over the page's right edge, so the drawing keeps the whole width)
 * with the flow list of the node clicked, a search box and zoom buttons. The drawing fits the
 * page's width and scrolls vertically; zooming in scrolls it both ways inside its own box, never
 * the page. One inline script, no network: `graph --format html` and
 * the report embed the same fragment.
 */

export const GRAPH_STYLE = `
#graph-tools{margin:8px 0;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
#graph-tools input{padding:4px 8px;font:inherit;width:260px}#graph-tools button{font:inherit;padding:2px 10px}
#graph-wrap{max-height:85vh;overflow:auto;border:1px solid #d0d7de;border-radius:6px;background:#fbfcfd}
#graph{display:block}
#graph-panel{position:fixed;right:12px;top:12px;width:380px;max-width:calc(100vw - 24px);max-height:calc(100vh - 24px);overflow:auto;background:#fff;border:1px solid #8c959f;border-radius:6px;padding:8px 10px;font-size:13px;box-sizing:border-box;box-shadow:0 4px 16px rgba(0,0,0,.18);z-index:5}
#graph-panel[hidden]{display:none}#graph-close{float:right;font:inherit;border:0;background:none;font-size:18px;line-height:1;cursor:pointer}
#graph-panel h3{margin:0 0 4px;font-size:14px;word-break:break-all}#graph-panel p{margin:4px 0;color:#57606a}
#graph-panel table{border-collapse:collapse;width:100%;margin:6px 0;table-layout:fixed}#graph-panel td:nth-child(2){overflow-wrap:anywhere}
#graph-panel col.dir{width:16px}#graph-panel col.port{width:76px}#graph-panel col.flows{width:52px}#graph-panel col.verdict{width:58px}#graph-panel td,#graph-panel th{border-bottom:1px solid #eaeef2;padding:2px 4px;text-align:left;vertical-align:top;font-size:12px}
#graph-panel td.n{text-align:right}#graph-panel .denied{color:#b42318;font-weight:600}
.group rect{fill:#f3f6f9;stroke:#c4ccd5}.group.outside rect{fill:#fff8f1;stroke:#e3b58a;stroke-dasharray:4 3}
.group text{font-size:12px;font-weight:600;fill:#44505c}
.node{cursor:pointer}.node rect{stroke-width:1.4px}.node .name{font-size:12px;font-weight:600}.node .detail{font-size:11px;fill:#57606a}
.node.workload rect{fill:#e8f1fb;stroke:#2f6fb0}.node.entity rect{fill:#f4ecfb;stroke:#7a3fb0}
.node.external rect,.node.peer rect{fill:#fdf0e6;stroke:#c2620a}.node.selected rect{stroke:#d1242f;stroke-width:2.6px}
.link{fill:none;stroke:#8c959f;stroke-width:1.2px}.link.denied{stroke:#d1242f;stroke-dasharray:5 3}
.link.hot{stroke:#1f6feb;stroke-width:2.4px}.link.denied.hot{stroke:#d1242f}
.elabel{font-size:11px;fill:#24292f;paint-order:stroke;stroke:#fbfcfd;stroke-width:3px}.elabel.denied{fill:#b42318}
.dim{opacity:.15}
`;

const SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var svg = document.getElementById("graph"), panel = document.getElementById("graph-panel");
  // Fit the column's width, but never below MIN_SCALE: past that the box scrolls (the page never does).
  var W = data.width, H = data.height, zoom = 1, MIN_SCALE = 0.8;
  var byId = {}; data.nodes.forEach(function(n){ byId[n.id] = n; });
  var nodes = Array.prototype.slice.call(svg.querySelectorAll("g.node"));
  var links = Array.prototype.slice.call(svg.querySelectorAll("g.edge"));
  function fit(){
    var room = document.getElementById("graph-wrap").clientWidth;
    var w = Math.max(Math.min(W, room), W * MIN_SCALE) * zoom;
    svg.setAttribute("width", String(Math.round(w))); svg.setAttribute("height", String(Math.round(w * H / W)));
  }
  function cell(tr, text, cls){ var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
  function show(id){
    var n = byId[id], keep = {}; keep[id] = true;
    data.links.forEach(function(l){
      if (l.source === id) keep[l.target] = true;
      if (l.target === id) keep[l.source] = true;
    });
    links.forEach(function(g){
      var hot = g.getAttribute("data-ends").split(" ").indexOf(id) >= 0;
      g.querySelector("path").classList.toggle("hot", hot); g.classList.toggle("dim", !hot);
    });
    nodes.forEach(function(g){
      var k = g.getAttribute("data-id");
      g.classList.toggle("dim", !keep[k]); g.classList.toggle("selected", k === id);
    });
    panel.replaceChildren(); panel.hidden = false;
    var x = document.createElement("button"); x.id = "graph-close"; x.type = "button"; x.textContent = "\u00d7";
    x.setAttribute("aria-label", "close"); x.addEventListener("click", function(){ panel.hidden = true; clear(); });
    panel.appendChild(x);
    var h = document.createElement("h3"); h.textContent = n.label; panel.appendChild(h);
    var p = document.createElement("p"); p.textContent = n.detail; panel.appendChild(p);
    var rows = data.links.filter(function(l){ return l.source === id || l.target === id; });
    var t = document.createElement("table"), head = document.createElement("tr");
    t.innerHTML = '<colgroup><col class="dir"><col><col class="port"><col class="flows"><col class="verdict"></colgroup>';
    ["", "peer", "port", "flows", "verdict"].forEach(function(x){ var th = document.createElement("th"); th.textContent = x; head.appendChild(th); });
    t.appendChild(head);
    rows.forEach(function(l){
      var out = l.source === id, peer = byId[out ? l.target : l.source];
      l.ports.forEach(function(port){
        var tr = document.createElement("tr");
        cell(tr, out ? "\\u2192" : "\\u2190"); cell(tr, peer.label); cell(tr, port.port); cell(tr, String(port.flows), "n");
        cell(tr, l.verdict, l.verdict === "denied" ? "denied" : "");
        tr.className = "flow"; t.appendChild(tr);
      });
    });
    panel.appendChild(t);
    var s = document.createElement("p");
    s.textContent = rows.length + " connection(s): \\u2192 calls, \\u2190 is called by.";
    panel.appendChild(s);
  }
  function clear(){
    nodes.forEach(function(g){ g.classList.remove("dim", "selected"); });
    links.forEach(function(g){ g.classList.remove("dim"); g.querySelector("path").classList.remove("hot"); });
  }
  nodes.forEach(function(g){
    g.addEventListener("click", function(ev){ ev.stopPropagation(); show(g.getAttribute("data-id")); });
  });
  svg.addEventListener("click", clear);
  document.getElementById("graph-search").addEventListener("input", function(ev){
    var q = ev.target.value.trim().toLowerCase();
    if (!q) { clear(); return; }
    nodes.forEach(function(g){
      var n = byId[g.getAttribute("data-id")];
      g.classList.toggle("dim", (n.label + " " + n.detail).toLowerCase().indexOf(q) < 0);
    });
    links.forEach(function(g){ g.classList.add("dim"); });
  });
  document.getElementById("graph-zoom-in").addEventListener("click", function(){ zoom = Math.min(zoom * 1.25, 4); fit(); });
  document.getElementById("graph-zoom-out").addEventListener("click", function(){ zoom = Math.max(zoom / 1.25, 0.25); fit(); });
  document.getElementById("graph-zoom-fit").addEventListener("click", function(){ zoom = 1; fit(); });
  window.addEventListener("resize", fit);
  fit();
  // Open on the main namespace: scrolled to it when the drawing is wider than the page.
  var wrap = document.getElementById("graph-wrap"), scale = svg.getBoundingClientRect().width / W;
  if ((data.main.x + data.main.width) * scale > wrap.clientWidth) wrap.scrollLeft = Math.max(0, data.main.x * scale - 8);
  document.body.setAttribute("data-graph-nodes", String(data.nodes.length));
})();
`;

/** The fragment's HTML (styles go in the page's `<style>`: GRAPH_STYLE). */
export function graphDrawing(view: GraphView, layout: GraphLayout): string {
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  const svg: string[] = [
    `<svg id="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${layout.width} ${layout.height}" width="${layout.width}" height="${layout.height}" role="img" aria-label="dependency graph">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#8c959f"/></marker>',
    '<marker id="arrow-denied" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#d1242f"/></marker></defs>',
  ];
  for (const g of layout.groups) {
    const outside = g.id.startsWith("group:outside") ? " outside" : "";
    svg.push(
      `<g class="group${outside}"><rect x="${g.x}" y="${g.y}" width="${g.width}" height="${g.height}" rx="6"/>`,
      `<text x="${g.x + 10}" y="${g.y + 17}">${escapeHtml(cut(g.label, 60))}</text></g>`,
    );
  }
  const nameOf = (id: string) => byId.get(id)?.label ?? layout.groups.find((g) => g.id === id)?.label ?? id;
  for (const l of layout.links) {
    const denied = l.verdict === "denied";
    const d = l.points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x},${p.y}`).join("");
    const title = `${nameOf(l.source)} \u2192 ${nameOf(l.target)}: ${l.label.text} flows${denied ? " (denied)" : ""}`;
    svg.push(
      `<g class="edge" data-ends="${l.ends.join(" ")}"><title>${escapeHtml(title)}</title>`,
      `<path class="link${denied ? " denied" : ""}" d="${d}" marker-end="url(#${denied ? "arrow-denied" : "arrow"})"/>`,
      `<text class="elabel${denied ? " denied" : ""}" x="${l.label.x}" y="${l.label.y + 11}">${escapeHtml(l.label.text)}</text></g>`,
    );
  }
  for (const box of layout.nodes) {
    const n = byId.get(box.id) as ViewNode;
    svg.push(
      `<g class="node ${n.type}" data-id="${n.id}" transform="translate(${box.x},${box.y})"><title>${escapeHtml(n.label)}</title>`,
      `<rect width="${box.width}" height="${box.height}" rx="5"/>`,
      `<text class="name" x="8" y="15">${escapeHtml(cut(n.name))}</text>`,
      `<text class="detail" x="8" y="29">${escapeHtml(cut(n.detail))}</text></g>`,
    );
  }
  svg.push("</svg>");
  const members = (id: string) => view.nodes.filter((n) => n.group === id).length;
  const main = layout.groups
    .filter((g) => g.id.startsWith("ns:"))
    .reduce<(typeof layout.groups)[number] | undefined>(
      (a, g) => (a && members(a.id) >= members(g.id) ? a : g),
      undefined,
    );
  const data = {
    width: layout.width,
    height: layout.height,
    main: { x: main?.x ?? 0, width: main?.width ?? 0 },
    nodes: view.nodes.map((n) => ({ id: n.id, key: n.key, label: n.label, detail: n.detail })),
    links: view.links,
  };
  const allowed = view.links.filter((l) => l.verdict === "allowed").length;
  return [
    '<div id="graph-tools"><input id="graph-search" type="search" placeholder="find a workload, address or name" aria-label="find a node">',
    '<button id="graph-zoom-out" type="button" aria-label="zoom out">\u2212</button><button id="graph-zoom-fit" type="button">fit</button><button id="graph-zoom-in" type="button" aria-label="zoom in">+</button>',
    `<span>${view.nodes.length} nodes, ${allowed} allowed and ${view.links.length - allowed} denied links; edge labels: ports \u00b7 flows. Click a node for its flow list.</span></div>`,
    '<div id="graph-wrap">',
    svg.join("\n"),
    '</div><aside id="graph-panel" aria-live="polite" hidden></aside>',
    `<script type="application/json" id="graph-data">${scriptJson(data)}</script>`,
    `<script>${SCRIPT}</script>`,
  ].join("\n");
}
