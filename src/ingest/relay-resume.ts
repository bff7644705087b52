import { compareTime, type NanoTime, type Peek, responseKey } from "../collect/hubble/grpc-chunk.js";
import { fromNanos, REPLAY_WINDOW_NS, RecentKeys, toNanos } from "../collect/hubble/recent-keys.js";
import type { LiveSession } from "./live-session.js";

/** Where a stored collection stopped: the newest event time and the keys of the events at exactly that time. */
export interface StoredCursor {
  seconds: number;
  nanos: number;
  keys: string[];
}

/**
 * Which messages of a Hubble Relay stream to take, so that a collection resumed from a stored
 * cursor, or reconnected after a failure, stores each event once. Relay sorts events within a
 * window (`REPLAY_WINDOW_NS`), so a request re-reads from before the newest event, and this drops
 * what was taken already: the events at the cursor's time by key, and after a reconnect the
 * window's events by key (a multiset: the same key twice is two events).
 */
export class RelayResume {
  private newest: NanoTime | undefined;
  private newestBuffers: Buffer[] = [];
  private newestKeys: string[];
  /** Keys at the resume point still expected once more from the server (a multiset). */
  private overlap = new Map<string, number>();
  /** "cursor": a stored cursor, re-read from its time; "window": a reconnect, re-read from the window before it. */
  private resuming: "cursor" | "window" | undefined;
  private resumedAt = 0n;
  private readonly recent = new RecentKeys();

  /**
   * `rereadWindow`: whether the store's uuid blocks reach back to the stored cursor, so that the
   * window before it can be read again (the store drops the flows it holds).
   */
  constructor(
    stored: StoredCursor | undefined,
    private readonly rereadWindow: boolean,
  ) {
    this.newest = stored ? { seconds: stored.seconds, nanos: stored.nanos } : undefined;
    this.newestKeys = stored ? [...stored.keys] : [];
    if (stored) this.beginResume();
  }

  /** The resume state of a session: from its stored cursor, if any. */
  static async of(live: LiveSession): Promise<RelayResume> {
    // A store written before uuid blocks existed cannot tell the window's flows apart: no re-read.
    const stored = live.stored;
    const rereadWindow = stored !== undefined && ((await live.newestUuidTime()) ?? -1) >= stored.seconds * 1000;
    return new RelayResume(stored, rereadWindow);
  }

  private beginResume(): void {
    if (!this.newest) return;
    this.overlap = new Map();
    for (const k of this.keysAtNewest()) this.overlap.set(k, (this.overlap.get(k) ?? 0) + 1);
    this.resuming = "cursor";
  }

  /** After a failed stream: the next request re-reads the window before the newest event. */
  beginReconnect(): void {
    if (!this.newest) return;
    this.overlap = this.recent.counts();
    this.resumedAt = toNanos(this.newest);
    this.resuming = "window";
  }

  private keysAtNewest(): string[] {
    if (this.newestBuffers.length > 0) {
      this.newestKeys.push(...this.newestBuffers.map(responseKey));
      this.newestBuffers = [];
    }
    return this.newestKeys;
  }

  /** Where the next request starts: the newest event, or the window before it when re-reading. */
  requestFrom(): NanoTime | undefined {
    const rewind = this.resuming === "window" || (this.resuming === "cursor" && this.rereadWindow);
    return rewind && this.newest ? fromNanos(toNanos(this.newest) - REPLAY_WINDOW_NS) : this.newest;
  }

  /** The cursor to store with what was taken so far. */
  cursor(): { time: NanoTime; keys: string[] } | undefined {
    return this.newest ? { time: { ...this.newest }, keys: [...this.keysAtNewest()] } : undefined;
  }

  /** Whether to take the message: false for one taken already. */
  accept(buf: Buffer, peek: Peek): boolean {
    const t = peek.time;
    if (!t) return true;
    const ns = toNanos(t);
    if (this.resuming === "window") {
      if (ns <= this.resumedAt) {
        if (this.takeOverlap(buf)) return false;
      } else if (ns > this.resumedAt + REPLAY_WINDOW_NS) this.resuming = undefined;
    } else if (this.resuming === "cursor" && this.newest) {
      const c = compareTime(t, this.newest);
      // Older than the cursor: re-read from Relay's window. A flow with a uuid is taken when the
      // store's uuid blocks cover the cursor (they drop it if stored); anything else was stored.
      if (c < 0) return this.rereadWindow && responseKey(buf).startsWith("uuid:");
      if (c === 0) {
        if (this.takeOverlap(buf)) return false;
      } else this.resuming = undefined;
    }
    if (!this.newest || compareTime(t, this.newest) > 0) {
      this.newest = { seconds: t.seconds, nanos: t.nanos };
      this.newestBuffers = [buf];
      this.newestKeys = [];
    } else if (compareTime(t, this.newest) === 0) this.newestBuffers.push(buf);
    this.recent.add(responseKey(buf), ns, toNanos(this.newest));
    return true;
  }

  /** Whether the message is one of the overlap still expected (and counts it off). */
  private takeOverlap(buf: Buffer): boolean {
    const key = responseKey(buf);
    const left = this.overlap.get(key) ?? 0;
    if (left === 0) return false;
    this.overlap.set(key, left - 1);
    return true;
  }
}
