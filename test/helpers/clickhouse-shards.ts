import { UsageError } from "../../src/errors.js";
import { openFlowStore } from "../../src/store/open.js";

/**
 * Creates the store's tables on every shard of a cluster whose shards share one host (each server
 * reached at its own HTTP port): a writing open per shard, as a user points flowpol at each once.
 * An open that finds a shard still without tables fails naming it; the second round succeeds.
 */
export async function createOnEveryShard(urls: string[]): Promise<void> {
  for (const round of [1, 2]) {
    for (const url of urls) {
      try {
        await (await openFlowStore(url)).close();
      } catch (err) {
        if (round === 2 || !(err instanceof UsageError) || !/has no flowpol tables/.test(err.message)) throw err;
      }
    }
  }
}
