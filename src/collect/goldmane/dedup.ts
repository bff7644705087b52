/**
 * Drops flows the collector already has after a reconnect, or stored in an earlier run. Goldmane
 * sends each flow once per 15-second window and `FlowResult.id` is not stable across restarts, so
 * a flow is known by its window start and its key. After a reconnect the stream resumes at the
 * latest window seen, so only the most recent windows need remembering; a new run starts from
 * the stored cursor (the latest window stored and its keys), and windows before it are stored.
 */
export class WindowDedup {
  private readonly windows = new Map<number, Set<string>>();
  private latestStart: number | undefined;
  /** Windows before this start were stored by an earlier run. */
  private readonly floor: number | undefined;

  constructor(
    stored?: { start: number; keys: readonly string[] },
    private readonly keepWindows = 40,
  ) {
    if (!stored) return;
    this.floor = stored.start;
    this.latestStart = stored.start;
    this.windows.set(stored.start, new Set(stored.keys));
  }

  /** Whether this (window, key) was seen before (or is older than the stored cursor); records it if not. */
  seen(start: number, key: string): boolean {
    if (this.floor !== undefined && start < this.floor) return true;
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

  /** The keys seen in the latest window: with `resumeFrom`, the cursor to store. */
  get latestKeys(): string[] {
    return this.latestStart === undefined ? [] : [...(this.windows.get(this.latestStart) ?? [])];
  }
}
