/**
 * Drops flows the collector already has after a reconnect. Goldmane sends each flow once per
 * 15-second window and `FlowResult.id` is not stable across restarts, so a flow is known by its
 * window start and its key. After a reconnect the stream resumes at the latest window seen, so
 * only the most recent windows need remembering.
 */
export class WindowDedup {
  private readonly windows = new Map<number, Set<string>>();
  private latestStart: number | undefined;

  constructor(private readonly keepWindows = 40) {}

  /** Whether this (window, key) was seen before; records it if not. */
  seen(start: number, key: string): boolean {
    let keys = this.windows.get(start);
    if (!keys) {
      keys = new Set();
      this.windows.set(start, keys);
      if (this.windows.size > this.keepWindows) {
        const oldest = Math.min(...this.windows.keys());
        this.windows.delete(oldest);
      }
    }
    if (keys.has(key)) return true;
    keys.add(key);
    if (this.latestStart === undefined || start > this.latestStart) this.latestStart = start;
    return false;
  }

  /** The window to resume from (Unix seconds), once anything was seen. */
  get resumeFrom(): number | undefined {
    return this.latestStart;
  }
}
