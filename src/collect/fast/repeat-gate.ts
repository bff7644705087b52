/**
 * Whether a line is worth the fast path, and whether a miss is worth learning: the one throttle of
 * every format's line cache. The fast path pays off only where lines repeat; on a source that
 * does not (every line a new pod, a new port), trying it costs a lookup and learning costs a scan
 * of the line, on top of the plain parse that follows. So:
 *
 * - while the lines tried in a window hit at least one time in `MIN_HIT_SHARE`, every line is
 *   tried and every miss is learned;
 * - otherwise the source does not repeat: only one line in `PROBE_EVERY` is tried, and one tried
 *   line in `LEARN_PROBES_EVERY` learned (learning can cost several plain parses: a scan of the
 *   line, a template built) until a probe hits; the rest go straight to the plain parse. A window
 *   of probes that hits again turns the fast path back on. Learning a Calico flow-log line costs about forty
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

export class RepeatGate {
  private tried = 0;
  private hits = 0;
  private seen = 0;
  private missed = 0;
  private probing = false;

  /** Whether to try this line on the fast path; when it says yes, report `hit()` or `miss()`. */
  tries(): boolean {
    if (this.probing && this.seen++ % PROBE_EVERY !== 0) return false;
    const window = this.probing ? PROBE_WINDOW : WINDOW;
    if (this.tried++ === window) {
      this.probing = this.hits * MIN_HIT_SHARE < window;
      this.tried = 1;
      this.hits = 0;
    }
    return true;
  }

  /** The tried line was a repeat. */
  hit(): void {
    this.hits++;
  }

  /**
   * Whether to learn from the tried line that just missed: always while the source repeats, and
   * while probing, every probe once a probe of the window has hit (the source may be repeating
   * again: learning its lines brings the fast path back), else one in `LEARN_PROBES_EVERY`.
   */
  learns(): boolean {
    return !this.probing || this.hits > 0 || this.missed++ % LEARN_PROBES_EVERY === 0;
  }

  /** Whether the fast path stands aside for most lines now (for tests and reports). */
  get bypassed(): boolean {
    return this.probing;
  }
}
