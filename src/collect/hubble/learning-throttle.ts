const WINDOW = 512;
const MAX_LEARN_EVERY = 64;

/**
 * How often a line cache learns from its misses. Learning costs a scan of the line: when most
 * lines of a 512-line window miss (every line a new pod), later windows learn from every 2nd,
 * 4th... miss only (up to every 64th), until a window mostly hits again.
 */
export class LearningThrottle {
  private lines = 0;
  private misses = 0;
  private learnEvery = 1;

  /** Counts a line the cache looks up. */
  line(): void {
    if (this.lines++ % WINDOW !== 0) return;
    this.learnEvery = this.misses > WINDOW / 2 ? Math.min(this.learnEvery * 2, MAX_LEARN_EVERY) : 1;
    this.misses = 0;
  }

  /** Counts a line the cache did not know. */
  miss(): void {
    this.misses++;
  }

  /** Whether to learn from the last miss. */
  get learns(): boolean {
    return this.misses % this.learnEvery === 0;
  }
}
