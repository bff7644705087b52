import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.js";
import {
  buildGraph,
  type CatalogEntry,
  DEFAULT_EXCLUDED_NAMESPACES,
  type DependencyGraph,
  mergeCatalogs,
  parseCatalog,
  type Scope,
} from "../graph/index.js";
import { isDns1123Label } from "../model/k8s-names.js";
import type { StoreRead } from "./read-store.js";
import { parseWindow } from "./time-flags.js";

/** Flags shared by `graph` and `generate`: which part of the store, which catalog. */
export interface GraphScopeOptions {
  db: string;
  /** `--cluster`: undefined reads the store's only cluster. */
  cluster?: string | undefined;
  namespaces: string[];
  /** Undefined: the default platform namespaces. */
  excludeNamespaces?: string[];
  since?: string;
  until?: string;
  minFlows: number;
  catalogs: string[];
  sharedMinNamespaces: number;
  /** "now" for relative times (--since 24h). */
  now: number;
}

export const BUILTIN_CATALOG = resolve(dirname(fileURLToPath(import.meta.url)), "../../templates/shared-services.yaml");

export async function loadGraph(o: GraphScopeOptions, read: StoreRead): Promise<DependencyGraph> {
  const scope = toScope(o);
  const catalog = loadCatalog(o.catalogs);
  const input = await read.store.readGraphInput(scope, read.cluster);
  return buildGraph(input, { catalog, sharedMinNamespaces: o.sharedMinNamespaces });
}

export function loadCatalog(extra: string[]): CatalogEntry[] {
  const files = [BUILTIN_CATALOG, ...extra];
  return mergeCatalogs(...files.map((f) => parseCatalog(readFileSync(f, "utf8"), f)));
}

export function toScope(o: GraphScopeOptions): Scope {
  for (const [flag, list] of [
    ["--namespace", o.namespaces],
    ["--exclude-namespace", o.excludeNamespaces ?? []],
  ] as const) {
    for (const ns of list) {
      if (!isDns1123Label(ns))
        throw new UsageError(
          `${flag} ${JSON.stringify(ns)} is not a namespace name`,
          "use a DNS-1123 label such as shop",
        );
    }
  }
  const excluded = (o.excludeNamespaces ?? [...DEFAULT_EXCLUDED_NAMESPACES]).filter((ns) => !o.namespaces.includes(ns));
  const scope: Scope = {
    namespaces: [...o.namespaces].sort(),
    excludeNamespaces: excluded.sort(),
    minFlows: o.minFlows,
  };
  return { ...scope, ...parseWindow(o, o.now) };
}
