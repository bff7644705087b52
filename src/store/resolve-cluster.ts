import { UsageError } from "../errors.js";
import { DEFAULT_CLUSTER } from "../model/batch.js";
import { isClusterName } from "../model/cluster.js";
import type { FlowStore } from "./store.js";

/** Checks a `--cluster` value before it reaches the store or a file name. */
export function parseClusterFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isClusterName(value)) {
    throw new UsageError(
      `--cluster ${JSON.stringify(value)} is not a cluster name`,
      "use a DNS-1123 label (lower-case letters, digits and '-', at most 63), e.g. --cluster prod-eu",
    );
  }
  return value;
}

/**
 * The one cluster a read command works on: policies are per cluster. `--cluster` must name a
 * cluster the store holds; without it, a store of one cluster reads that one, and a store of
 * several is refused with the list.
 */
export async function resolveCluster(store: FlowStore, flag: string | undefined): Promise<string> {
  const cluster = parseClusterFlag(flag);
  const clusters = await store.clusters();
  if (cluster !== undefined) {
    if (clusters.length > 0 && !clusters.includes(cluster)) {
      throw new UsageError(
        `the store ${store.location} holds no flows of cluster ${cluster}; it holds: ${clusters.join(", ")}`,
        "name one of those with --cluster, or ingest that cluster's flows with --cluster",
      );
    }
    return cluster;
  }
  if (clusters.length <= 1) return clusters[0] ?? DEFAULT_CLUSTER;
  throw new UsageError(
    `the store ${store.location} holds flows of ${clusters.length} clusters (${clusters.join(", ")}), and policies are per cluster`,
    `name one with --cluster, e.g. --cluster ${clusters[0]}`,
  );
}
