import { isIP } from "node:net";
import { emptyEndpoint, type FlowEndpoint } from "../../model/flow.js";
import { isDns1123Label, isDns1123Subdomain } from "../../model/k8s-names.js";
import { droppedLabelsReason } from "../record.js";
import { deriveWorkload, deriveWorkloadFromAggregatedName } from "../workload.js";

/**
 * One side of a Calico record (flow log, Goldmane, Whisker) to the flow model. Calico endpoint
 * types: `wep` (a pod) becomes a workload; `hep` (a host endpoint) the `host` entity; `ns` (a
 * NetworkSet or GlobalNetworkSet) a named external peer; `net` an external peer by IP, or by
 * `pub`/`pvt` once the IP is aggregated away.
 */
export type CalicoEndpointType = "wep" | "hep" | "ns" | "net";

export interface CalicoEndpointFields {
  type: CalicoEndpointType | undefined;
  /** Full name (pod, host endpoint, NetworkSet); absent when aggregated away (`-`). */
  name: string | undefined;
  /** `frontend-755cdc7957-*`, a hostname, a NetworkSet name, or `pub`/`pvt`. */
  nameAggr: string | undefined;
  namespace: string | undefined;
  ip: string | undefined;
  labels: Record<string, string>;
  /** Label entries left out (not label syntax), as shown in the report. */
  droppedLabels?: string[];
}

/** An aggregated name: a DNS-1123 prefix, optionally ending in `-*` or `*`. */
const AGGREGATED_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(-?\*)?$/;

export function calicoEndpoint(f: CalicoEndpointFields, side: string): FlowEndpoint | string {
  const ep = emptyEndpoint();
  if (f.ip !== undefined) {
    if (isIP(f.ip) === 0) return `${side}_ip ${JSON.stringify(f.ip)} is not an IP address`;
    ep.ip = f.ip;
  }
  if (f.namespace !== undefined) {
    if (!isDns1123Label(f.namespace)) {
      return `${side}_namespace ${JSON.stringify(f.namespace)} is not a valid Kubernetes name`;
    }
    ep.namespace = f.namespace;
  }
  if (f.name !== undefined && !isDns1123Subdomain(f.name)) {
    return `${side}_name ${JSON.stringify(f.name)} is not a valid Kubernetes name`;
  }
  if (f.nameAggr !== undefined && (f.nameAggr.length > 253 || !AGGREGATED_NAME.test(f.nameAggr))) {
    return `${side}_name_aggr ${JSON.stringify(f.nameAggr)} is not a valid aggregated name`;
  }
  const type = f.type ?? inferType(f);
  switch (type) {
    case "wep":
      if (ep.namespace === undefined) return `${side}_namespace is missing (a workload endpoint has one)`;
      ep.labels = f.labels;
      if (f.droppedLabels && f.droppedLabels.length > 0) ep.droppedLabels = droppedLabelsReason(f.droppedLabels);
      if (f.name !== undefined) {
        ep.podName = f.name;
        ep.workload = deriveWorkload(f.name, f.labels);
      } else if (f.nameAggr !== undefined) {
        ep.podGroup = f.nameAggr;
        ep.workload = deriveWorkloadFromAggregatedName(f.nameAggr, f.labels);
      }
      if (ep.workload && !isDns1123Subdomain(ep.workload.name)) delete ep.workload;
      return ep;
    case "hep":
      ep.entity = "host";
      return ep;
    case "ns": {
      ep.entity = "world";
      const name = f.name ?? f.nameAggr;
      if (name !== undefined && isDns1123Subdomain(name)) {
        ep.peer = { kind: ep.namespace ? "NetworkSet" : "GlobalNetworkSet", name };
      }
      return ep;
    }
    default:
      ep.entity = "world";
      delete ep.namespace;
      if (ep.ip === undefined) ep.peer = { kind: "Network", name: f.nameAggr === "pvt" ? "pvt" : "pub" };
      return ep;
  }
}

/** For records that omit the type (documentation excerpts, Whisker): decide from the names. */
function inferType(f: CalicoEndpointFields): CalicoEndpointType {
  if (f.nameAggr === "pub" || f.nameAggr === "pvt") return "net";
  if (f.namespace !== undefined && (f.name !== undefined || f.nameAggr !== undefined)) return "wep";
  return "net";
}

/** Calico `type` strings (flow logs) and Goldmane `EndpointType` (name or number). */
export function calicoEndpointType(v: unknown): CalicoEndpointType | undefined {
  switch (v) {
    case "wep":
    case "WorkloadEndpoint":
    case 1:
      return "wep";
    case "hep":
    case "HostEndpoint":
    case 2:
      return "hep";
    case "ns":
    case "NetworkSet":
    case 3:
      return "ns";
    case "net":
    case "Network":
    case 4:
      return "net";
    default:
      return undefined;
  }
}
