import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConnSet } from "../../src/policy/conn-set.js";
import { atomsOf, type IpRange, parseCidr, rangeToString, subtractRanges } from "../../src/policy/ip-range.js";
import { PortSet } from "../../src/policy/port-set.js";

const ports = (...ranges: Array<[number, number]>) => PortSet.fromIntervals(ranges);

describe("PortSet", () => {
  it.each([
    ["unions overlapping and adjacent ranges into one", ports([1, 10]).union(ports([11, 20], [15, 30])), "1-30"],
    ["intersects range by range", ports([1, 100], [200, 300]).intersect(ports([50, 250])), "50-100,200-250"],
    ["subtracts a hole out of a range", ports([1, 65535]).subtract(ports([53, 53])), "1-52,54-65535"],
    ["subtracts everything to empty", ports([80, 80]).subtract(PortSet.ALL), ""],
    ["clips a range to 1..65535", PortSet.range(0, 70000), "1-65535"],
  ])("%s", (_name, set, text) => {
    expect(set.toString()).toBe(text);
  });

  it("answers containment and equality on the normalised intervals", () => {
    expect(ports([80, 80]).isSubsetOf(ports([1, 1024]))).toBe(true);
    expect(ports([80, 81]).isSubsetOf(ports([81, 1024]))).toBe(false);
    expect(ports([1, 5], [6, 10]).equals(ports([1, 10]))).toBe(true);
    expect(ports([1, 10]).has(10)).toBe(true);
    expect(ports([1, 10]).has(11)).toBe(false);
  });
});

describe("ConnSet", () => {
  const tcp = (a: number, b = a) => ConnSet.of("TCP", PortSet.range(a, b));
  const udp = (a: number, b = a) => ConnSet.of("UDP", PortSet.range(a, b));

  it.each([
    ["prints everything as All Connections", ConnSet.ALL, "All Connections"],
    ["prints nothing as No Connections", ConnSet.NONE, "No Connections"],
    [
      "prints protocols in the order SCTP, TCP, UDP",
      udp(53)
        .union(tcp(8080))
        .union(ConnSet.of("SCTP", PortSet.of(9))),
      "SCTP 9,TCP 8080,UDP 53",
    ],
    [
      "prints a full protocol as 1-65535",
      ConnSet.ALL.subtract(udp(5353)),
      "SCTP 1-65535,TCP 1-65535,UDP 1-5352,5354-65535",
    ],
    ["intersects per protocol", tcp(1, 100).union(udp(53)).intersect(tcp(80, 443)), "TCP 80-100"],
  ])("%s", (_name, set, text) => {
    expect(set.toString()).toBe(text);
  });

  it("answers containment and equality", () => {
    expect(tcp(80).isSubsetOf(tcp(1, 1024).union(udp(53)))).toBe(true);
    expect(udp(80).isSubsetOf(tcp(1, 1024))).toBe(false);
    expect(tcp(1, 10).union(tcp(11, 20)).equals(tcp(1, 20))).toBe(true);
    expect(ConnSet.NONE.union(ConnSet.ALL).isAll()).toBe(true);
  });
});

describe("IP ranges", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0-10.255.255.255"],
    ["10.1.2.3/8", "10.0.0.0-10.255.255.255"],
    ["0.0.0.0/0", "0.0.0.0-255.255.255.255"],
    ["fd00::/64", "fd00::-fd00::ffff:ffff:ffff:ffff"],
  ])("parses %s as %s (host bits ignored)", (cidr, text) => {
    expect(rangeToString(parseCidr(cidr)!)).toBe(text);
  });

  it.each(["A", "10.0.0.0", "10.0.0.0/33", "10.0.0/8", "::/129", "10.0.0.0/-1"])("rejects %s as a CIDR", (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it("cuts the IPv4 space into atoms at every range boundary", () => {
    const r = (t: string) => parseCidr(t)!;
    expect(atomsOf([r("10.0.0.0/8"), r("10.1.0.0/16")], [4]).map(rangeToString)).toEqual([
      "0.0.0.0-9.255.255.255",
      "10.0.0.0-10.0.255.255",
      "10.1.0.0-10.1.255.255",
      "10.2.0.0-10.255.255.255",
      "11.0.0.0-255.255.255.255",
    ]);
  });

  it("subtracts as sets of addresses do: the rest of `from`, as maximal sorted pieces", () => {
    // A universe of 64 addresses, every address checked: ranges overlapping, nested, adjacent,
    // outside `from`, of the other family, in any order.
    const range = fc
      .tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 63 }), fc.constantFrom(4, 4, 4, 6))
      .map(
        ([a, b, family]): IpRange => ({
          family: family as 4 | 6,
          start: BigInt(Math.min(a, b)),
          end: BigInt(Math.max(a, b)),
        }),
      );
    fc.assert(
      fc.property(range, fc.array(range, { maxLength: 12 }), (from, minus) => {
        const kept: number[] = [];
        for (let a = 0; a < 64; a++) {
          const inFrom = BigInt(a) >= from.start && BigInt(a) <= from.end;
          const cut = minus.some((m) => m.family === from.family && BigInt(a) >= m.start && BigInt(a) <= m.end);
          if (inFrom && !cut) kept.push(a);
        }
        const pieces: Array<[number, number]> = [];
        for (const a of kept) {
          const last = pieces[pieces.length - 1];
          if (last && last[1] === a - 1) last[1] = a;
          else pieces.push([a, a]);
        }
        const got = subtractRanges(from, minus).map((r) => [Number(r.start), Number(r.end)]);
        expect(got).toEqual(pieces);
        expect(subtractRanges(from, minus).every((r) => r.family === from.family)).toBe(true);
      }),
      { numRuns: 2000, seed: 15 },
    );
  });

  it("subtracts excepts, leaving no cut between neighbouring excepts", () => {
    const r = (t: string) => parseCidr(t)!;
    expect(subtractRanges(r("0.0.0.0/0"), [r("10.0.0.0/9"), r("10.128.0.0/9")]).map(rangeToString)).toEqual([
      "0.0.0.0-9.255.255.255",
      "11.0.0.0-255.255.255.255",
    ]);
  });
});
