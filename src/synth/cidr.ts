import ipaddr = require("ipaddr.js");

import { fullRange, parseCidr, subtractRanges } from "../policy/ip-range.js";

/** Address blocks: exact hosts (/32, /128) or observed IPs widened to a configurable prefix. */

export const METADATA_IPV4 = "169.254.169.254";

/**
 * Cloud metadata addresses: 169.254.169.254 (AWS, GCP, Azure, OpenStack) and AWS's IPv6 endpoint
 * fd00:ec2::254. An IPv4-mapped IPv6 address (`::ffff:169.254.169.254`) is the IPv4 address.
 */
export const METADATA_IPS = [METADATA_IPV4, "fd00:ec2::254"];
const METADATA_HOSTS = ["169.254.169.254/32", "fd00:ec2::254/128", "::ffff:a9fe:a9fe/128"].map((host) => ({
  host,
  cidr: ipaddr.parseCIDR(host),
}));

/** Whether an address is a cloud metadata address, in any of its spellings. */
export function isMetadataIp(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  const text = addr.kind() === "ipv4" ? addr.toString() : (addr as ipaddr.IPv6).toRFC5952String();
  return METADATA_IPS.includes(text);
}

/** The metadata addresses inside a block, as host CIDRs for its `except`. */
export function metadataInside(cidr: string): string[] {
  const [net, prefix] = ipaddr.parseCIDR(cidr);
  return METADATA_HOSTS.filter(({ cidr: [addr, bits] }) => {
    return addr.kind() === net.kind() && bits > prefix && addr.match(net, prefix);
  }).map(({ host }) => host);
}

/** The family ("IPv4", "IPv6") whose every address the blocks cover together, if any. */
export function coveredFamily(cidrs: readonly string[]): "IPv4" | "IPv6" | undefined {
  const ranges = cidrs.map(parseCidr).filter((r) => r !== undefined);
  for (const family of [4, 6] as const) {
    const own = ranges.filter((r) => r.family === family);
    if (own.length > 0 && subtractRanges(fullRange(family), own).length === 0) return family === 4 ? "IPv4" : "IPv6";
  }
  return undefined;
}

export function isIp(text: string): boolean {
  return ipaddr.isValid(text);
}

export function isCidr(text: string): boolean {
  return ipaddr.isValidCIDR(text) && text.includes("/");
}

/** The host block of an IP: `10.0.0.1/32`, `2001:db8::1/128`. */
export function hostCidr(ip: string): string {
  const addr = ipaddr.parse(ip);
  return addr.kind() === "ipv4" ? `${addr.toString()}/32` : `${(addr as ipaddr.IPv6).toRFC5952String()}/128`;
}

/** The network of `prefix` bits containing `ip`, in canonical form. */
export function widenIp(ip: string, prefixV4: number, prefixV6: number): string {
  const addr = ipaddr.parse(ip);
  const prefix = addr.kind() === "ipv4" ? prefixV4 : prefixV6;
  const bytes = addr.toByteArray();
  const bits = bytes.length * 8;
  const keep = Math.min(prefix, bits);
  const masked = bytes.map((b, i) => {
    const from = i * 8;
    if (from + 8 <= keep) return b;
    if (from >= keep) return 0;
    return b & (0xff << (8 - (keep - from))) & 0xff;
  });
  const net = ipaddr.fromByteArray(masked);
  const text = net.kind() === "ipv4" ? net.toString() : (net as ipaddr.IPv6).toRFC5952String();
  return `${text}/${keep}`;
}

/** Canonical text of a CIDR given by the user (`10.0.0.0/8`). */
export function canonicalCidr(cidr: string): string {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  return widenIp(addr.toString(), prefix, prefix);
}

export function cidrContains(cidr: string, ip: string): boolean {
  const [net, prefix] = ipaddr.parseCIDR(cidr);
  const addr = ipaddr.parse(ip);
  if (addr.kind() !== net.kind()) return false;
  return addr.match(net, prefix);
}

/**
 * Items sorted by their CIDR: IPv4 before IPv6, then by address bytes, then by prefix; stable.
 * Each CIDR is parsed once, not at every comparison: an external-egress group can hold thousands.
 */
export function sortedByCidr<T>(items: readonly T[], cidrOf: (item: T) => string): T[] {
  if (items.length < 2) return [...items];
  return items
    .map((item) => {
      const [net, prefix] = ipaddr.parseCIDR(cidrOf(item));
      return { item, bytes: net.toByteArray(), prefix };
    })
    .sort((a, b) => {
      if (a.bytes.length !== b.bytes.length) return a.bytes.length - b.bytes.length;
      for (let i = 0; i < a.bytes.length; i++) {
        if (a.bytes[i] !== b.bytes[i]) return (a.bytes[i] as number) - (b.bytes[i] as number);
      }
      return a.prefix - b.prefix;
    })
    .map(({ item }) => item);
}
