import type { DependencyGraph } from "../graph/index.js";
import { GRAPH_STYLE, graphDrawing } from "./graph-drawing.js";
import { layoutGraph } from "./graph-layout.js";
import { graphView } from "./graph-view.js";
import { escapeHtml } from "./html-text.js";

/**
 * `flowpol graph --format html`: one self-contained page (inline CSS, script and data; no network
 * fetches), the same drawing as the report's (src/render/graph-drawing.ts), laid out by ELK when
 * the page is written.
 */
export async function graphHtml(g: DependencyGraph, title = "flowpol dependency graph"): Promise<string> {
  const view = graphView(g);
  const drawing = graphDrawing(view, await layoutGraph(view));
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 16px;color:#1b1f24}h1{font-size:18px}${GRAPH_STYLE}</style>`,
    "</head><body>",
    `<h1>${escapeHtml(title)}</h1>`,
    drawing,
    "</body></html>",
    "",
  ].join("\n");
}
