/**
 * Whether a line is worth the fast path, and whether a miss is worth learning: the one throttle of
 * every format's line cache. The fast path pays off only where lines repeat; on a source that
 * does not (every line a new pod, a new port), trying it costs a lookup and learning costs a scan
 * of the line, on top of the plain parse that follows. So:
 *
 * - while the lines tried in a window hit at least one time in `MIN_HIT_SHARE`, every line is
 *   tried and every miss is learned; the first window is short (`PROBE_WINDOW` lines), so a file
 *   of high-churn records does not learn its first thousand lines;
 * - otherwise the source does not repeat: only one line in `PROBE_EVERY` is tried, and one tried
 *   line in `LEARN_PROBES_EVERY` learned (learning can cost several plain parses: a scan of the
 *   line, a template built), or more while learning pays in the window: up to `LEARNS_PER_HIT`
 *   learned probes per probe that hit. The rest go straight to the plain parse. A window of probes
 *   that hits again turns the fast path back on. Learning a Calico flow-log line costs about forty
 *   plain parses (the template, the cached parts, and the collector's work on what they keep):
 *   learning one probe in 2 made high-churn logs 40% slower than no fast path at all; one in 32
 *   is within the noise of it.
 *
 * A line of a source that does not repeat then costs a plain parse plus `1 / PROBE_EVERY` of a
 * lookup and `1 / (PROBE_EVERY * LEARN_PROBES_EVERY)` of a learning. Which path decodes a line never changes its
 * result (the tests compare both paths line by line), only its cost.
 */

/** Tried lines per window: a while repeating, shorter while probing (so a repeating source is back soon). */
const WINDOW = 1024;
const PROBE_WINDOW = 128;
const MIN_HIT_SHARE = 8;
const PROBE_EVERY = 8;
const LEARN_PROBES_EVERY = 32;
const LEARNS_PER_HIT = 16;

export class RepeatGate {
  private tried = 0;
  private hits = 0;
  private seen = 0;
  private missed = 0;
  private learned = 0;
  private probing = false;
  /** The current window's length: the first is short, so a source that does not repeat is found soon. */
  private window = PROBE_WINDOW;

  /** Whether to try this line on the fast path; when it says yes, report `hit()` or `miss()`. */
  tries(): boolean {
    if (this.probing && this.seen++ % PROBE_EVERY !== 0) return false;
    if (this.tried++ === this.window) {
      this.probing = this.hits * MIN_HIT_SHARE < this.window;
      this.window = this.probing ? PROBE_WINDOW : WINDOW;
      this.tried = 1;
      this.hits = 0;
      this.learned = 0;
    }
    return true;
  }

  /** The tried line was a repeat. */
  hit(): void {
    this.hits++;
  }

  /**
   * Whether to learn from the tried line that just missed: always while the source repeats; while
   * probing, one in `LEARN_PROBES_EVERY`, and every probe while the window's probes hit at least
   * once per `LEARNS_PER_HIT` learned (the source may be repeating again: learning its lines brings
   * the fast path back). Learning every probe once one probe hit kept Goldmane's high-churn
   * records, which repeat now and then (2% of probes), learning one line in eight: their decoding
   * took twice as long as with no fast path.
   */
  learns(): boolean {
    if (!this.probing) return true;
    if (this.learned < this.hits * LEARNS_PER_HIT || this.missed++ % LEARN_PROBES_EVERY === 0) {
      this.learned++;
      return true;
    }
    return false;
  }

  /** Whether the fast path stands aside for most lines now (for tests and reports). */
  get bypassed(): boolean {
    return this.probing;
  }
}
