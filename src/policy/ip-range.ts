import ipaddr = require("ipaddr.js");

/**
 * IP address ranges as closed intervals of integers, one family at a time, so that IPv4 and IPv6
 * ipBlocks (with `except`) reduce to interval arithmetic.
 */
export type IpFamily = 4 | 6;

export interface IpRange {
  readonly family: IpFamily;
  readonly start: bigint;
  readonly end: bigint;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function bytesToBigint(bytes: number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function bigintToBytes(n: bigint, family: IpFamily): number[] {
  const len = BITS[family] / 8;
  const out = new Array<number>(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** Parses an IP address (strict dotted quad for IPv4). Returns undefined when it is not one. */
export function parseIp(text: string): { family: IpFamily; value: bigint } | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 4, value: bytesToBigint(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  if (text.includes(":") && ipaddr.IPv6.isValid(text)) {
    return { family: 6, value: bytesToBigint(ipaddr.IPv6.parse(text).toByteArray()) };
  }
  return undefined;
}

/**
 * Parses a CIDR such as `10.0.0.0/8` or `fd00::/64`. Host bits may be set (Kubernetes accepts
 * them and ignores them). Returns undefined when it is not a CIDR.
 */
export function parseCidr(text: string): (IpRange & { prefix: number }) | undefined {
  const slash = text.indexOf("/");
  if (slash === -1) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const bits = BITS[ip.family];
  if (prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const start = (ip.value >> hostBits) << hostBits;
  const end = start + (1n << hostBits) - 1n;
  return { family: ip.family, start, end, prefix };
}

export function ipToString(value: bigint, family: IpFamily): string {
  return ipaddr.fromByteArray(bigintToBytes(value, family)).toString();
}

/** `10.0.0.0-10.255.255.255`, the analyzer's notation for an external range. */
export function rangeToString(r: IpRange): string {
  return `${ipToString(r.start, r.family)}-${ipToString(r.end, r.family)}`;
}

export function fullRange(family: IpFamily): IpRange {
  return { family, start: 0n, end: (1n << BigInt(BITS[family])) - 1n };
}

export function rangeContains(outer: IpRange, inner: IpRange): boolean {
  return outer.family === inner.family && outer.start <= inner.start && inner.end <= outer.end;
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

/**
 * Cuts each family's whole address space into the disjoint atoms induced by the given ranges:
 * every range is a union of atoms, and no atom straddles a range's boundary.
 */
export function atomsOf(ranges: readonly IpRange[], families: readonly IpFamily[]): IpRange[] {
  const out: IpRange[] = [];
  for (const family of families) {
    const full = fullRange(family);
    const cuts = new Set<bigint>([full.start, full.end + 1n]);
    for (const r of ranges) {
      if (r.family !== family) continue;
      cuts.add(r.start);
      cuts.add(r.end + 1n);
    }
    const sorted = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 0; i + 1 < sorted.length; i++) {
      out.push({ family, start: sorted[i]!, end: sorted[i + 1]! - 1n });
    }
  }
  return out;
}

/**
 * `from` minus every range in `minus`, as sorted disjoint ranges, none adjacent to another (a gap
 * of at least one removed address between two). One sweep over the cuts sorted by start: each cut
 * ends a kept piece where it starts and moves the next kept address past its end; O(m log m) in
 * the cuts (cutting piece by piece was O(m²): 20,000 host blocks took seconds).
 */
export function subtractRanges(from: IpRange, minus: readonly IpRange[]): IpRange[] {
  const cuts = minus
    .filter((m) => m.family === from.family && rangesOverlap(from, m))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: IpRange[] = [];
  let next = from.start;
  for (const m of cuts) {
    if (m.start > next) out.push({ family: from.family, start: next, end: m.start - 1n });
    if (m.end >= next) next = m.end + 1n;
    if (next > from.end) return out;
  }
  out.push({ family: from.family, start: next, end: from.end });
  return out;
}
