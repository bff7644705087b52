/**
 * A set of ports 1..65535 as sorted, disjoint, non-adjacent closed intervals. Immutable: every
 * operation returns a new set. The invariant (sorted, disjoint, non-adjacent) makes `equals` a
 * plain comparison of the interval lists.
 */
export const MIN_PORT = 1;
export const MAX_PORT = 65535;

export type Interval = readonly [number, number];

export class PortSet {
  private constructor(readonly intervals: readonly Interval[]) {}

  static readonly EMPTY = new PortSet([]);
  static readonly ALL = new PortSet([[MIN_PORT, MAX_PORT]]);

  static range(from: number, to: number): PortSet {
    const lo = Math.max(from, MIN_PORT);
    const hi = Math.min(to, MAX_PORT);
    return lo > hi ? PortSet.EMPTY : new PortSet([[lo, hi]]);
  }

  static of(port: number): PortSet {
    return PortSet.range(port, port);
  }

  static fromIntervals(intervals: Iterable<Interval>): PortSet {
    return new PortSet(normalize([...intervals]));
  }

  isEmpty(): boolean {
    return this.intervals.length === 0;
  }

  isAll(): boolean {
    return this.equals(PortSet.ALL);
  }

  has(port: number): boolean {
    let lo = 0;
    let hi = this.intervals.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = this.intervals[mid]!;
      if (port < a) hi = mid - 1;
      else if (port > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  union(other: PortSet): PortSet {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    return new PortSet(normalize([...this.intervals, ...other.intervals]));
  }

  intersect(other: PortSet): PortSet {
    if (other === PortSet.ALL || this.isEmpty()) return this;
    if (this === PortSet.ALL || other.isEmpty()) return other;
    const out: Interval[] = [];
    let i = 0;
    let j = 0;
    while (i < this.intervals.length && j < other.intervals.length) {
      const [a1, b1] = this.intervals[i]!;
      const [a2, b2] = other.intervals[j]!;
      const lo = Math.max(a1, a2);
      const hi = Math.min(b1, b2);
      if (lo <= hi) out.push([lo, hi]);
      if (b1 < b2) i++;
      else j++;
    }
    return new PortSet(out);
  }

  subtract(other: PortSet): PortSet {
    if (other.isEmpty() || this.isEmpty()) return this;
    const out: Interval[] = [];
    for (const [a, b] of this.intervals) {
      let start = a;
      for (const [c, d] of other.intervals) {
        if (d < start || c > b) continue;
        if (c > start) out.push([start, c - 1]);
        start = d + 1;
        if (start > b) break;
      }
      if (start <= b) out.push([start, b]);
    }
    return new PortSet(out);
  }

  isSubsetOf(other: PortSet): boolean {
    return this.subtract(other).isEmpty();
  }

  equals(other: PortSet): boolean {
    if (this.intervals.length !== other.intervals.length) return false;
    return this.intervals.every(([a, b], k) => other.intervals[k]![0] === a && other.intervals[k]![1] === b);
  }

  /** `80,443,8000-8090`, the analyzer's notation. */
  toString(): string {
    return this.intervals.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(",");
  }
}

function normalize(intervals: Interval[]): Interval[] {
  const sorted = intervals.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
