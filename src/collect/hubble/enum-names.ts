/**
 * Names of the Hubble enum values the selective decoder turns numbers into. They mirror the
 * generated enums (src/gen), which the decode workers do not import: loading a generated file
 * builds its descriptors, about 130 ms of CPU per worker start. A unit test (grpc-decode.test.ts)
 * keeps these tables equal to the generated enums.
 */

/** flow.DropReason */
export const DROP_REASON_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "DROP_REASON_UNKNOWN"],
  [132, "INVALID_SOURCE_IP"],
  [133, "POLICY_DENIED"],
  [134, "INVALID_PACKET_DROPPED"],
  [136, "CT_MISSING_TCP_ACK_FLAG"],
  [139, "UNSUPPORTED_L3_PROTOCOL"],
  [151, "STALE_OR_UNROUTABLE_IP"],
  [158, "SERVICE_BACKEND_NOT_FOUND"],
  [163, "UNKNOWN_CONNECTION_TRACKING_STATE"],
  [169, "FIB_LOOKUP_FAILED"],
  [171, "INVALID_IDENTITY"],
  [172, "UNKNOWN_SENDER"],
  [181, "POLICY_DENY"],
  [189, "AUTH_REQUIRED"],
  [194, "NO_EGRESS_GATEWAY"],
  [195, "UNENCRYPTED_TRAFFIC"],
  [196, "TTL_EXCEEDED"],
  [198, "DROP_RATE_LIMITED"],
  [202, "DROP_HOST_NOT_READY"],
  [203, "DROP_EP_NOT_READY"],
  [204, "DROP_NO_EGRESS_IP"],
  [205, "DROP_PUNT_PROXY"],
]);

/** flow.LostEventSource */
export const LOST_EVENT_SOURCE_NAMES: readonly string[] = [
  "UNKNOWN_LOST_EVENT_SOURCE",
  "PERF_EVENT_RING_BUFFER",
  "OBSERVER_EVENTS_QUEUE",
  "HUBBLE_RING_BUFFER",
];

/** relay.NodeState */
export const NODE_STATE_NAMES: readonly string[] = [
  "UNKNOWN_NODE_STATE",
  "NODE_CONNECTED",
  "NODE_UNAVAILABLE",
  "NODE_GONE",
  "NODE_ERROR",
];
