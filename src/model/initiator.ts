import type { Flow } from "./flow.js";

/**
 * Whether a flow record is the initiating side of a connection (a request) or a reply.
 *
 * The rule, in order (docs/design.md "Replies"):
 * 1. Hubble `is_reply` when present.
 * 2. `trace_reason`: NEW/REOPENED is a request, REPLY is a reply.
 * 3. TCP flags: SYN without ACK is a request, SYN with ACK is a reply.
 * 4. ICMP: echo request / echo reply types.
 * 5. Ports: when the source port is a well-known or registered port (< 32768) and the destination
 *    port is ephemeral (>= 32768), the flow is a reply; otherwise a request.
 */
export type FlowRole = "request" | "reply";

const EPHEMERAL_PORT_FLOOR = 32768;
const ICMP_REPLY_TYPES: Record<string, ReadonlySet<number>> = {
  ICMPv4: new Set([0, 14, 16, 18]),
  ICMPv6: new Set([129, 131]),
};

export function flowRole(flow: Flow): FlowRole {
  const marked = roleFromMarkers(flow);
  if (marked) return marked;
  const flags = flow.tcpFlags;
  if (flags?.SYN) return flags.ACK ? "reply" : "request";
  if (flow.protocol === "ICMPv4" || flow.protocol === "ICMPv6") {
    return flow.icmpType !== undefined && ICMP_REPLY_TYPES[flow.protocol]?.has(flow.icmpType) ? "reply" : "request";
  }
  const src = flow.sourcePort;
  const dst = flow.destinationPort;
  if (src !== undefined && dst !== undefined && src < EPHEMERAL_PORT_FLOOR && dst >= EPHEMERAL_PORT_FLOOR) {
    return "reply";
  }
  return "request";
}

/** Rules 1 and 2 alone: the role the flow's own markers state, if they state one. */
export function roleFromMarkers(flow: Flow): FlowRole | undefined {
  if (flow.isReply !== undefined) return flow.isReply ? "reply" : "request";
  const reason = flow.traceReason;
  if (reason === "NEW" || reason === "REOPENED") return "request";
  if (reason === "REPLY") return "reply";
  return undefined;
}
