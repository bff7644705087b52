import type { Flow } from "../../model/flow.js";
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

function side(key: Json, labels: unknown, prefix: "source" | "dest", camel: "source" | "dest") {
  const type: CalicoEndpointType | undefined = calicoEndpointType(field(key, `${prefix}_type`, `${camel}Type`));
  const droppedLabels: string[] = [];
  return calicoEndpoint(
    {
      type,
      name: undefined,
      nameAggr: present(field(key, `${prefix}_name`, `${camel}Name`)),
      namespace: present(field(key, `${prefix}_namespace`, `${camel}Namespace`)),
      ip: undefined,
      labels: parseCalicoLabels(labels, droppedLabels),
      droppedLabels,
    },
    prefix,
  );
}

export function goldmaneFlowToModel(flow: Json, defaultTime?: number): Flow | string {
  const key = goldmaneKey(flow);
  if (!key) return "the Goldmane flow has no `Key`";
  const source = side(key, field(flow, "source_labels", "sourceLabels"), "source", "source");
  if (typeof source === "string") return source;
  const destination = side(key, field(flow, "dest_labels", "destLabels"), "dest", "dest");
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
  const serviceName = present(field(key, "dest_service_name", "destServiceName"));
  const serviceNamespace = present(field(key, "dest_service_namespace", "destServiceNamespace"));
  if (serviceName && serviceNamespace && isDns1123Label(serviceName) && isDns1123Label(serviceNamespace)) {
    destination.service = { namespace: serviceNamespace, name: serviceName };
  }
  return result;
}
