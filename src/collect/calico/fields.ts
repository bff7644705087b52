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
