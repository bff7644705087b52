/**
 * The dependency graph (pure): plain store data in, graph out.
 *
 * - `GraphInput`, `Scope`: what `src/store/read-graph.ts` loads (or tests build in code).
 * - `buildGraph(input, options)`: nodes (workloads, platform entities, external peers), allowed
 *   and denied edges, stable selectors, shared services.
 * - `parseCatalog`, `mergeCatalogs`: the shared-service catalog.
 */

export { buildGraph, DEFAULT_SHARED_MIN_NAMESPACES, formatLabels, type GraphOptions, workloadId } from "./build.js";
export { type CatalogEntry, type CatalogMatch, mergeCatalogs, parseCatalog } from "./catalog.js";
export {
  cmp,
  compareEdges,
  type DependencyGraph,
  type EntityNode,
  type ExternalNode,
  edgeKey,
  type GraphEdge,
  type GraphNode,
  type GraphWarning,
  type Selector,
  type SharedRole,
  type SharedService,
  type WorkloadNode,
} from "./dependency-graph.js";
export {
  DEFAULT_EXCLUDED_NAMESPACES,
  type DnsNameRecord,
  defaultScope,
  type EdgeRecord,
  type EndpointRecord,
  type GraphInput,
  inScope,
  type NamespaceRecord,
  type PodRecord,
  type Scope,
  type ServiceRecord,
} from "./input.js";
export { chooseSelector, isVolatileLabel, matches, PREFERRED_LABEL_KEYS } from "./selectors.js";
