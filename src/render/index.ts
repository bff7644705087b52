/** Renderers (pure): text in, text out. */
export { evidenceMarkdown, type NamespaceEvidence, namespaceEvidence } from "./evidence.js";
export { graphHtml } from "./graph-html.js";
export { graphDot, graphJson, graphMermaid, graphTable } from "./graph-text.js";
export { sortDeep, toYaml, toYamlStream } from "./yaml.js";
