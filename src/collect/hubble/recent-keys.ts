import type { NanoTime } from "./grpc-chunk.js";

/**
 * Hubble Relay merges the nodes' streams through a sort buffer, so an event can arrive after
 * newer ones. A reconnect therefore asks again for this much before the newest event received,
 * and drops what it had already received by key (flow uuid, else a content hash).
 */
export const REPLAY_WINDOW_NS = 10_000_000_000n;

export function toNanos(t: NanoTime): bigint {
  return BigInt(t.seconds) * 1_000_000_000n + BigInt(t.nanos);
}

export function fromNanos(ns: bigint): NanoTime {
  const seconds = ns / 1_000_000_000n;
  return { seconds: Number(seconds), nanos: Number(ns - seconds * 1_000_000_000n) };
}

/**
 * The keys of the events received within the window before the newest one, with how often each
 * was received (identical events without a uuid share a key). Older keys are pruned in bulk,
 * once the map has doubled since the last pruning.
 */
export class RecentKeys {
  private readonly entries = new Map<string, { count: number; time: bigint }>();
  private pruneAt = 1024;

  constructor(private readonly windowNs: bigint = REPLAY_WINDOW_NS) {}

  add(key: string, time: bigint, newest: bigint): void {
    const entry = this.entries.get(key);
    if (entry) {
      entry.count++;
      if (time > entry.time) entry.time = time;
    } else this.entries.set(key, { count: 1, time });
    if (this.entries.size >= this.pruneAt) {
      const oldest = newest - this.windowNs;
      for (const [k, e] of this.entries) if (e.time < oldest) this.entries.delete(k);
      this.pruneAt = Math.max(1024, this.entries.size * 2);
    }
  }

  /** The keys to expect once more after a reconnect that re-reads the window (a multiset). */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [k, e] of this.entries) counts.set(k, e.count);
    return counts;
  }
}
