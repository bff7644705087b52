import type { SimEvent, SimPod } from "./scenario.js";

/**
 * How Calico sees the simulated traffic: each side as a Calico endpoint (`wep` with the pod's
 * full label set, controller labels included; `net` `pub`/`pvt` for everything else), and each
 * connection as the reports Felix makes: at the source node (`src`) when the client is a pod, and
 * at the destination node (`dst`) when the server is a pod and the source did not deny it.
 * Shared by the flow-log and the Goldmane emitters.
 */

export interface CalicoSide {
  type: "wep" | "net";
  name: string;
  nameAggr: string;
  namespace: string;
  ip: string;
  labels: string[];
}

export interface CalicoReport {
  reporter: "src" | "dst";
  action: "allow" | "deny";
  node: string;
  source: CalicoSide;
  dest: CalicoSide;
  sourcePort: number;
  destPort: number;
  proto: "tcp" | "udp";
  service: { namespace: string; name: string } | undefined;
  domains: string[];
}

const PRIVATE = [/^10\./, /^172\.(1[6-9]|2\d|3[01])\./, /^192\.168\./];

function podLabels(pod: SimPod): Record<string, string> {
  const labels: Record<string, string> = { ...pod.labels };
  const w = pod.workload;
  const parts = pod.name.split("-");
  if (w.kind === "Deployment") labels["pod-template-hash"] = parts[parts.length - 2] ?? "";
  if (w.kind === "StatefulSet") {
    labels["controller-revision-hash"] = `${w.name}-6d5f8b7c9`;
    labels["statefulset.kubernetes.io/pod-name"] = pod.name;
    labels["apps.kubernetes.io/pod-index"] = parts[parts.length - 1] ?? "0";
  }
  if (w.kind === "DaemonSet") {
    labels["controller-revision-hash"] = "7b9c6d4f5";
    labels["pod-template-generation"] = "1";
  }
  if (w.kind === "CronJob") {
    const job = parts.slice(0, -1).join("-");
    labels["job-name"] = job;
    labels["batch.kubernetes.io/job-name"] = job;
  }
  return labels;
}

/** The pod's `generateName` plus `*`, as Felix aggregates it. */
function aggregatedName(pod: SimPod): string {
  const parts = pod.name.split("-");
  if (pod.workload.kind === "StatefulSet") return `${pod.workload.name}-*`;
  return `${parts.slice(0, -1).join("-")}-*`;
}

export function calicoSide(pod: SimPod | undefined, ip: string): CalicoSide {
  if (pod) {
    return {
      type: "wep",
      name: pod.name,
      nameAggr: aggregatedName(pod),
      namespace: pod.workload.namespace,
      ip,
      labels: Object.entries(podLabels(pod))
        .map(([k, v]) => `${k}=${v}`)
        .sort(),
    };
  }
  return {
    type: "net",
    name: "-",
    nameAggr: PRIVATE.some((r) => r.test(ip)) ? "pvt" : "pub",
    namespace: "-",
    ip,
    labels: [],
  };
}

export function calicoReports(event: SimEvent): CalicoReport[] {
  const c = event.connection;
  const dropped = c.verdict === "dropped";
  const source = calicoSide(event.srcPod, event.srcIp);
  const dest = calicoSide(event.dstPod, event.dstIp);
  const service =
    event.dstPod?.workload.service === true
      ? { namespace: event.dstPod.workload.namespace, name: event.dstPod.workload.name }
      : undefined;
  const base = {
    action: dropped ? ("deny" as const) : ("allow" as const),
    source,
    dest,
    sourcePort: event.srcPort,
    destPort: c.port,
    proto: c.protocol === "UDP" ? ("udp" as const) : ("tcp" as const),
    service,
  };
  const reports: CalicoReport[] = [];
  if (event.srcPod) {
    const domains = "external" in c.to ? c.to.external.names : [];
    reports.push({ ...base, reporter: "src", node: event.srcPod.node.name, domains });
  }
  if (event.dstPod && !(dropped && event.srcPod)) {
    reports.push({ ...base, reporter: "dst", node: event.dstPod.node.name, domains: [] });
  }
  return reports;
}

/** Labels common to every pod folded into a record (Felix keeps the intersection). */
export function intersectLabels(a: string[], b: string[]): string[] {
  const keep = new Set(b);
  return a.filter((l) => keep.has(l));
}
