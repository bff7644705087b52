import type { Flow } from "../../model/flow.js";
import type { CalicoEndpointType } from "../calico/endpoint.js";
import { calicoEndpoint } from "../calico/endpoint.js";
import {
  calicoProtocol,
  calicoReporter,
  calicoVerdict,
  invalidAction,
  invalidProtocol,
  invalidReporter,
  shownValue,
} from "../calico/fields.js";
import { asInteger, asObject, type Json, present } from "../calico/json.js";
import { parseCalicoLabels } from "../calico/labels.js";
import { goldmanePolicies } from "../calico/policies.js";
import type { RecordFormat, SourceRecord } from "../record.js";

/**
 * Whisker's `GET /whisker-backend/flows` JSON: the list answer `{"total": ..., "items": [...]}`,
 * one `FlowResponse` per line, or the `watch=true` event stream (`data: {...}` lines). Whisker
 * flattens Goldmane's flows and loses detail: RFC 3339 times, labels as one `" | "`-joined
 * string, plain networks renamed `PUBLIC NETWORK`/`PRIVATE NETWORK`, and no endpoint types,
 * Services or connection counts. A name without a namespace is taken as a GlobalNetworkSet (it may
 * be a host endpoint: Whisker does not say). Each item counts as one connection.
 */

const NETWORK_NAMES: Record<string, string> = { "PUBLIC NETWORK": "pub", "PRIVATE NETWORK": "pvt" };

function side(item: Json, prefix: "source" | "dest") {
  const rawName = present(item[`${prefix}_name`]);
  const namespace = present(item[`${prefix}_namespace`]);
  const network = rawName === undefined ? "pub" : NETWORK_NAMES[rawName];
  const type: CalicoEndpointType = network ? "net" : namespace ? "wep" : "ns";
  const droppedLabels: string[] = [];
  return calicoEndpoint(
    {
      type,
      name: undefined,
      nameAggr: network ?? rawName,
      namespace: network ? undefined : namespace,
      ip: undefined,
      labels: parseCalicoLabels(item[`${prefix}_labels`], droppedLabels),
      droppedLabels,
    },
    prefix,
  );
}

export function whiskerFlowToModel(item: Json, defaultTime?: number): Flow | string {
  const source = side(item, "source");
  if (typeof source === "string") return source;
  const destination = side(item, "dest");
  if (typeof destination === "string") return destination;
  const time =
    item.start_time === undefined && defaultTime !== undefined
      ? defaultTime
      : typeof item.start_time === "string"
        ? Date.parse(item.start_time)
        : Number.NaN;
  if (Number.isNaN(time)) return "the Whisker flow has no valid `start_time`";
  const wrong =
    invalidProtocol(item.protocol, "protocol") ?? invalidAction(item.action) ?? invalidReporter(item.reporter);
  if (wrong) return wrong;
  const protocol = calicoProtocol(item.protocol);
  const destPort = item.dest_port === undefined ? 0 : asInteger(item.dest_port);
  if (destPort === undefined || destPort < 0 || destPort > 65535) {
    return `dest_port ${shownValue(item.dest_port)} is not a port number`;
  }
  const verdict = calicoVerdict(item.action);
  const flow: Flow = {
    time,
    verdict,
    direction: "unknown",
    isReply: false,
    protocol,
    source,
    destination,
    sourceSystem: "calico",
    count: 1,
  };
  const reporter = calicoReporter(item.reporter);
  if (reporter) {
    flow.reporter = reporter;
    flow.direction = reporter === "src" ? "egress" : "ingress";
  }
  if (verdict === "dropped") flow.dropReason = "POLICY_DENIED";
  if (protocol === "TCP" || protocol === "UDP" || protocol === "SCTP") flow.destinationPort = destPort;
  const policies = goldmanePolicies(item.policies);
  if (policies.length > 0) flow.policies = policies;
  return flow;
}

function isWhiskerFlow(obj: Json): boolean {
  return obj.protocol !== undefined && obj.source_name !== undefined && obj.reporter !== undefined;
}

export const whiskerFormat: RecordFormat = {
  name: "whisker",
  system: "calico",
  detect: (obj) => {
    if (isWhiskerFlow(obj)) return true;
    const first = Array.isArray(obj.items) ? asObject(obj.items[0]) : undefined;
    return first !== undefined && isWhiskerFlow(first);
  },
  items: (value) => {
    const obj = asObject(value);
    return obj && Array.isArray(obj.items) && obj.total !== undefined ? obj.items : undefined;
  },
  toRecord: (value, options): SourceRecord => {
    const obj = asObject(value);
    if (!obj || !isWhiskerFlow(obj)) return { kind: "bad", reason: "the object is not a Whisker flow" };
    const flow = whiskerFlowToModel(obj, options?.defaultTime);
    return typeof flow === "string" ? { kind: "bad", reason: flow } : { kind: "flow", flow };
  },
};
