import type { Protocol, Verdict } from "../../model/flow.js";

/** Calico `proto`: a name (`tcp`, `icmp6`, ...) or an IP protocol number, as a string or a number. */
export function calicoProtocol(v: unknown): Protocol {
  const name = typeof v === "number" ? String(v) : typeof v === "string" ? v.toLowerCase() : "";
  switch (name) {
    case "tcp":
    case "6":
      return "TCP";
    case "udp":
    case "17":
      return "UDP";
    case "sctp":
    case "132":
      return "SCTP";
    case "icmp":
    case "1":
      return "ICMPv4";
    case "icmp6":
    case "icmpv6":
    case "58":
      return "ICMPv6";
    default:
      return "other";
  }
}

/**
 * Calico `action` (flow logs: `allow`/`deny`; Goldmane: `Allow`/`Deny`/`Pass` or 1/2/3):
 * allow is forwarded, deny is dropped. `Pass` and anything else is not a final verdict.
 */
export function calicoVerdict(v: unknown): Verdict {
  const name = typeof v === "string" ? v.toLowerCase() : v;
  if (name === "allow" || name === "allowed" || name === 1) return "forwarded";
  if (name === "deny" || name === "denied" || name === 2) return "dropped";
  return "unknown";
}

/**
 * Calico `reporter`: `src` (the initiator's node, egress view) or `dst` (the receiver's node,
 * ingress view). A forwarding node's report (`fwd`, also `dst, fwd` in the docs) stands on the
 * receiving side: edges count the larger of the two sides, so a connection counts once.
 */
export function calicoReporter(v: unknown): "src" | "dst" | undefined {
  if (v === 1) return "src";
  if (v === 2) return "dst";
  if (typeof v !== "string") return undefined;
  const parts = v
    .toLowerCase()
    .split(",")
    .map((p) => p.trim());
  if (parts.includes("src")) return "src";
  if (parts.includes("dst") || parts.includes("fwd")) return "dst";
  return undefined;
}

/** Shows a wrong value in a reason: JSON, cut short. */
export function shownValue(v: unknown): string {
  const text =
    v !== null && typeof v === "object" ? (Array.isArray(v) ? "a list" : "an object") : String(JSON.stringify(v));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Why a Calico `proto`/`protocol` is not one (absent included): a name (others are `other`) or 0 to 255. */
export function invalidProtocol(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return `the record has no \`${what}\``;
  if (typeof v === "string" && /^[A-Za-z][A-Za-z0-9-]{0,15}$/.test(v)) return undefined;
  if (typeof v === "string" && /^\d{1,3}$/.test(v) && Number(v) <= 255) return undefined;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255) return undefined;
  return `${what} ${shownValue(v)} is not a protocol`;
}

/** Why a Calico `action` is not one (absent included), or undefined when it is. */
export function invalidAction(v: unknown, what = "action"): string | undefined {
  if (v === undefined || v === null) return `the record has no \`${what}\``;
  const name = typeof v === "string" ? v.toLowerCase() : v;
  const known = ["allow", "allowed", "deny", "denied", "pass", 1, 2, 3];
  return known.includes(name as string | number) ? undefined : `${what} ${shownValue(v)} is not allow, deny or pass`;
}

/** Why a Calico `reporter` is not one (absent is allowed), or undefined when it is. */
export function invalidReporter(v: unknown): string | undefined {
  // 0 is Goldmane's ReporterUnspecified, which generated messages carry for "absent".
  if (v === undefined || v === null || v === 0 || calicoReporter(v) !== undefined) return undefined;
  return `reporter ${shownValue(v)} is not src or dst`;
}
