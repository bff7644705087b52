import type { Flow, FlowEndpoint } from "../../model/flow.js";
import { isDns1123Label } from "../../model/k8s-names.js";
import { type CalicoEndpointType, calicoEndpoint, calicoEndpointType } from "../calico/endpoint.js";
import {
  calicoProtocol,
  calicoReporter,
  calicoVerdict,
  invalidAction,
  invalidProtocol,
  invalidReporter,
  shownValue,
} from "../calico/fields.js";
import { connectionCount, invalidCount } from "../calico/flow-log.js";
import { asInteger, asObject, field, type Json, present } from "../calico/json.js";
import { parseCalicoLabels } from "../calico/labels.js";
import { goldmanePolicies } from "../calico/policies.js";
import { BoundedMap } from "../fast/bounded-map.js";
import { valueKey } from "../fast/value-key.js";

/**
 * A Goldmane `Flow` to the flow model, whatever carried it: a generated protobuf message from the
 * gRPC API (enums as numbers, int64 as bigint), protobuf-JSON (camelCase, int64 as strings, enums
 * as names, zero values omitted: absent means 0), or the Goldmane emitter's Go JSON (snake_case,
 * enums as numbers). Facts: ../shared/reference/calico-goldmane.md. Goldmane aggregates at the pod
 * prefix level: names are aggregated names (`nginx-7d4f9-*`, `pub`), there are no IPs and no
 * source ports.
 */

export function goldmaneKey(flow: Json): Json | undefined {
  return asObject(flow.Key) ?? asObject(flow.key);
}

/** The record fields one side's endpoint is converted from, as the record has them. */
interface SideFields {
  type: unknown;
  nameAggr: unknown;
  namespace: unknown;
  labels: unknown;
  /** The destination's Service, which the destination endpoint carries. */
  serviceName?: unknown;
  serviceNamespace?: unknown;
}

function sideFields(flow: Json, key: Json, prefix: "source" | "dest", camel: "source" | "dest"): SideFields {
  const fields: SideFields = {
    type: field(key, `${prefix}_type`, `${camel}Type`),
    nameAggr: field(key, `${prefix}_name`, `${camel}Name`),
    namespace: field(key, `${prefix}_namespace`, `${camel}Namespace`),
    labels: field(flow, `${prefix}_labels`, `${camel}Labels`),
  };
  if (prefix === "dest") {
    fields.serviceName = field(key, "dest_service_name", "destServiceName");
    fields.serviceNamespace = field(key, "dest_service_namespace", "destServiceNamespace");
  }
  return fields;
}

function side(fields: SideFields, prefix: "source" | "dest"): FlowEndpoint | string {
  const type: CalicoEndpointType | undefined = calicoEndpointType(fields.type);
  const droppedLabels: string[] = [];
  const endpoint = calicoEndpoint(
    {
      type,
      name: undefined,
      nameAggr: present(fields.nameAggr),
      namespace: present(fields.namespace),
      ip: undefined,
      labels: parseCalicoLabels(fields.labels, droppedLabels),
      droppedLabels,
    },
    prefix,
  );
  if (typeof endpoint === "string") return endpoint;
  const serviceName = present(fields.serviceName);
  const serviceNamespace = present(fields.serviceNamespace);
  if (serviceName && serviceNamespace && isDns1123Label(serviceName) && isDns1123Label(serviceNamespace)) {
    endpoint.service = { namespace: serviceNamespace, name: serviceName };
  }
  return endpoint;
}

const MAX_ENDPOINTS = 20_000;

/**
 * Endpoints converted before, by the exact fields they were converted from: the same workload
 * sends the same fields in every record, and converting them (labels parsed and validated, the
 * workload derived) is most of a record's cost. Kept endpoints are shared between flows, which
 * also lets the batch recognise them by object: never mutate them.
 */
export class GoldmaneEndpoints {
  private readonly kept = new BoundedMap<string, FlowEndpoint | string>(MAX_ENDPOINTS);

  of(fields: SideFields, prefix: "source" | "dest"): FlowEndpoint | string {
    const key = valueKey([
      prefix,
      fields.type,
      fields.nameAggr,
      fields.namespace,
      fields.serviceName,
      fields.serviceNamespace,
      fields.labels,
    ]);
    const convert = () => side(fields, prefix);
    return key === undefined ? convert() : this.kept.getOrMake(key, convert);
  }
}

export function goldmaneFlowToModel(flow: Json, defaultTime?: number, endpoints?: GoldmaneEndpoints): Flow | string {
  const key = goldmaneKey(flow);
  if (!key) return "the Goldmane flow has no `Key`";
  const sourceFields = sideFields(flow, key, "source", "source");
  const source = endpoints ? endpoints.of(sourceFields, "source") : side(sourceFields, "source");
  if (typeof source === "string") return source;
  const destinationFields = sideFields(flow, key, "dest", "dest");
  const destination = endpoints ? endpoints.of(destinationFields, "dest") : side(destinationFields, "dest");
  if (typeof destination === "string") return destination;
  const startRaw = field(flow, "start_time", "startTime");
  const startTime = startRaw === undefined && defaultTime !== undefined ? defaultTime / 1000 : asInteger(startRaw);
  if (startTime === undefined) return "the Goldmane flow has no valid `startTime`";
  const live = field(flow, "num_connections_live", "numConnectionsLive");
  const started = field(flow, "num_connections_started", "numConnectionsStarted");
  const wrong =
    invalidProtocol(key.proto, "proto") ??
    invalidAction(key.action) ??
    invalidReporter(key.reporter) ??
    invalidCount(live, "numConnectionsLive") ??
    invalidCount(started, "numConnectionsStarted");
  if (wrong) return wrong;
  const protocol = calicoProtocol(key.proto);
  const destPortRaw = field(key, "dest_port", "destPort");
  // protobuf-JSON omits zero values: an absent port is 0.
  const destPort = destPortRaw === undefined ? 0 : asInteger(destPortRaw);
  if (destPort === undefined || destPort < 0 || destPort > 65535) {
    return `destPort ${shownValue(destPortRaw)} is not a port number`;
  }
  const verdict = calicoVerdict(key.action);
  const result: Flow = {
    time: startTime * 1000,
    verdict,
    direction: "unknown",
    isReply: false,
    protocol,
    source,
    destination,
    sourceSystem: "calico",
    count: connectionCount(live, started),
  };
  const reporter = calicoReporter(key.reporter);
  if (reporter) {
    result.reporter = reporter;
    result.direction = reporter === "src" ? "egress" : "ingress";
  }
  if (verdict === "dropped") result.dropReason = "POLICY_DENIED";
  if (protocol === "TCP" || protocol === "UDP" || protocol === "SCTP") result.destinationPort = destPort;
  const policies = goldmanePolicies(key.policies);
  if (policies.length > 0) result.policies = policies;
  return result;
}
