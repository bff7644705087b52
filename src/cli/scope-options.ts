import type { Command, OptionValues } from "commander";
import { DEFAULT_SHARED_MIN_NAMESPACES } from "../graph/build.js";
import { DEFAULT_EXCLUDED_NAMESPACES } from "../graph/input.js";
import { resolveDbPath } from "../store/db.js";
import { collectList } from "./flags.js";
import type { GraphScopeOptions } from "./load-graph.js";
import { addWindowOptions, dbOption, parseIntFlag, readClusterOption } from "./options.js";

/** The options of `graph` and `generate` that choose the part of the store and the catalog. */
export function addScopeOptions(cmd: Command, subject: string): Command {
  const chosen = cmd
    .addOption(dbOption())
    .addOption(readClusterOption())
    .option("--namespace <ns>", `only these namespaces ${subject} (repeat or comma-separate)`, collectList, [])
    .option(
      "--exclude-namespace <ns>",
      `never these namespaces (repeat or comma-separate; default: ${DEFAULT_EXCLUDED_NAMESPACES.join(",")})`,
      collectList,
    );
  return addWindowOptions(chosen)
    .option("--min-flows <n>", "leave out connections with fewer flows", parseIntFlag("--min-flows", 1), 1)
    .option("--catalog <file>", "extra shared-service catalog YAML (repeatable)", collectList, [])
    .option(
      "--shared-min-namespaces <n>",
      "a destination called from this many namespaces on one port is a shared service",
      parseIntFlag("--shared-min-namespaces", 2),
      DEFAULT_SHARED_MIN_NAMESPACES,
    );
}

export function scopeOf(o: OptionValues): GraphScopeOptions {
  return {
    db: resolveDbPath(o.db),
    cluster: o.cluster as string | undefined,
    namespaces: o.namespace,
    ...(o.excludeNamespace !== undefined ? { excludeNamespaces: o.excludeNamespace } : {}),
    ...(o.since !== undefined ? { since: o.since } : {}),
    ...(o.until !== undefined ? { until: o.until } : {}),
    minFlows: o.minFlows,
    catalogs: o.catalog,
    sharedMinNamespaces: o.sharedMinNamespaces,
    now: Date.now(),
  };
}
