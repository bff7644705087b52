/** Renderers (pure): text in, text out. */
export { evidenceMarkdown, type NamespaceEvidence, namespaceEvidence } from "./evidence.js";
export { graphHtml } from "./graph-html.js";
export { graphDot, graphJson, graphMermaid, graphTable, recordsNote } from "./graph-text.js";
export { type GraphView, graphView } from "./graph-view.js";
export { sortDeep, toYaml, toYamlStream } from "./yaml.js";
