import { type Interval, PortSet } from "./port-set.js";

/** The protocols a NetworkPolicy can name, in the order the analyzer prints them. */
export const POLICY_PROTOCOLS = ["SCTP", "TCP", "UDP"] as const;
export type PolicyProtocol = (typeof POLICY_PROTOCOLS)[number];

export function isProtocol(value: unknown): value is PolicyProtocol {
  return typeof value === "string" && (POLICY_PROTOCOLS as readonly string[]).includes(value);
}

/**
 * A set of connections: for each protocol, a set of destination ports. Immutable. This is the
 * algebra the evaluator, the connectivity list and both diffs are built on.
 */
export class ConnSet {
  private constructor(private readonly byProtocol: Readonly<Record<PolicyProtocol, PortSet>>) {}

  static readonly NONE = new ConnSet({ SCTP: PortSet.EMPTY, TCP: PortSet.EMPTY, UDP: PortSet.EMPTY });
  static readonly ALL = new ConnSet({ SCTP: PortSet.ALL, TCP: PortSet.ALL, UDP: PortSet.ALL });

  static of(protocol: PolicyProtocol, ports: PortSet): ConnSet {
    return ConnSet.NONE.with(protocol, ports);
  }

  ports(protocol: PolicyProtocol): PortSet {
    return this.byProtocol[protocol];
  }

  /** The union of many sets at once: each protocol's intervals normalized once, not set by set. */
  static unionAll(sets: Iterable<ConnSet>): ConnSet {
    const intervals: Record<PolicyProtocol, Interval[]> = { SCTP: [], TCP: [], UDP: [] };
    for (const set of sets) {
      if (set === ConnSet.ALL) return ConnSet.ALL;
      for (const p of POLICY_PROTOCOLS) for (const interval of set.byProtocol[p].intervals) intervals[p].push(interval);
    }
    const union = new ConnSet({
      SCTP: PortSet.fromIntervals(intervals.SCTP),
      TCP: PortSet.fromIntervals(intervals.TCP),
      UDP: PortSet.fromIntervals(intervals.UDP),
    });
    return union.isEmpty() ? ConnSet.NONE : union.isAll() ? ConnSet.ALL : union;
  }

  with(protocol: PolicyProtocol, ports: PortSet): ConnSet {
    return new ConnSet({ ...this.byProtocol, [protocol]: ports });
  }

  has(protocol: PolicyProtocol, port: number): boolean {
    return this.byProtocol[protocol].has(port);
  }

  isEmpty(): boolean {
    return POLICY_PROTOCOLS.every((p) => this.byProtocol[p].isEmpty());
  }

  isAll(): boolean {
    return POLICY_PROTOCOLS.every((p) => this.byProtocol[p].isAll());
  }

  union(other: ConnSet): ConnSet {
    if (other === ConnSet.NONE || this === ConnSet.ALL) return this;
    if (this === ConnSet.NONE || other === ConnSet.ALL) return other;
    return this.combine(other, (a, b) => a.union(b));
  }

  intersect(other: ConnSet): ConnSet {
    if (other === ConnSet.ALL || this === ConnSet.NONE) return this;
    if (this === ConnSet.ALL || other === ConnSet.NONE) return other;
    return this.combine(other, (a, b) => a.intersect(b));
  }

  subtract(other: ConnSet): ConnSet {
    return this.combine(other, (a, b) => a.subtract(b));
  }

  isSubsetOf(other: ConnSet): boolean {
    return POLICY_PROTOCOLS.every((p) => this.byProtocol[p].isSubsetOf(other.byProtocol[p]));
  }

  equals(other: ConnSet): boolean {
    return POLICY_PROTOCOLS.every((p) => this.byProtocol[p].equals(other.byProtocol[p]));
  }

  /** `All Connections`, `No Connections`, or `SCTP 1-65535,TCP 80,UDP 53` (the analyzer's text). */
  toString(): string {
    if (this.isAll()) return "All Connections";
    if (this.isEmpty()) return "No Connections";
    return POLICY_PROTOCOLS.filter((p) => !this.byProtocol[p].isEmpty())
      .map((p) => `${p} ${this.byProtocol[p].toString()}`)
      .join(",");
  }

  private combine(other: ConnSet, op: (a: PortSet, b: PortSet) => PortSet): ConnSet {
    return new ConnSet({
      SCTP: op(this.byProtocol.SCTP, other.byProtocol.SCTP),
      TCP: op(this.byProtocol.TCP, other.byProtocol.TCP),
      UDP: op(this.byProtocol.UDP, other.byProtocol.UDP),
    });
  }
}
