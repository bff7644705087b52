import type { WorkloadRef } from "../model/flow.js";

/**
 * Derives the owning workload of a pod from its name and labels, for sources that do not name it
 * (Hubble before `workloads`, Calico). Labels win over name patterns because they are exact.
 */

/** Characters Kubernetes uses for generated suffixes (rand.SafeEncodeString). */
const SAFE = "[bcdfghjklmnpqrstvwxz2456789]";
const DEPLOYMENT_POD = new RegExp(`^(.+)-${SAFE}{6,10}-${SAFE}{5}$`);
const STATEFULSET_POD = /^(.+)-(\d+)$/;
const CRONJOB_JOB = /^(.+)-(\d{8,})$/;
const CRONJOB_POD = new RegExp(`^(.+)-(\\d{8,})-${SAFE}{5}$`);
const GENERATED_SUFFIX = new RegExp(`^(.+)-${SAFE}{5}$`);

export function deriveWorkload(podName: string, labels: Record<string, string>): WorkloadRef {
  const jobName = labels["job-name"] ?? labels["batch.kubernetes.io/job-name"];
  if (jobName) {
    const cron = CRONJOB_JOB.exec(jobName);
    return cron?.[1] ? { kind: "CronJob", name: cron[1] } : { kind: "Job", name: jobName };
  }
  const templateHash = labels["pod-template-hash"];
  if (templateHash) {
    const marker = `-${templateHash}-`;
    const at = podName.lastIndexOf(marker);
    if (at > 0) return { kind: "Deployment", name: podName.slice(0, at) };
  }
  if (labels["statefulset.kubernetes.io/pod-name"] === podName || labels["apps.kubernetes.io/pod-index"]) {
    const ordinal = STATEFULSET_POD.exec(podName);
    if (ordinal?.[1]) return { kind: "StatefulSet", name: ordinal[1] };
  }
  if (labels["controller-revision-hash"] && labels["pod-template-generation"]) {
    const daemon = GENERATED_SUFFIX.exec(podName);
    if (daemon?.[1]) return { kind: "DaemonSet", name: daemon[1] };
  }
  return deriveWorkloadFromName(podName);
}

/** Name patterns only: `name-<hash>-<suffix>` (Deployment), `name-<n>` (StatefulSet), ... */
export function deriveWorkloadFromName(podName: string): WorkloadRef {
  // A CronJob's Job is named after its schedule time in minutes: 8+ digits, checked first
  // because digits are also valid hash characters.
  const cronPod = CRONJOB_POD.exec(podName);
  if (cronPod?.[1]) return { kind: "CronJob", name: cronPod[1] };
  const deployment = DEPLOYMENT_POD.exec(podName);
  if (deployment?.[1]) return { kind: "Deployment", name: deployment[1] };
  const ordinal = STATEFULSET_POD.exec(podName);
  if (ordinal?.[1]) return { kind: "StatefulSet", name: ordinal[1] };
  const generated = GENERATED_SUFFIX.exec(podName);
  if (generated?.[1]) return { kind: "DaemonSet", name: generated[1] };
  return { kind: "Pod", name: podName };
}

/**
 * Calico's aggregated names end in `-*`: `frontend-755cdc7957-*` is a ReplicaSet of Deployment
 * `frontend`; `redis-*` is a DaemonSet/StatefulSet-style prefix.
 */
export function deriveWorkloadFromAggregatedName(nameAggr: string): WorkloadRef {
  const prefix = nameAggr.endsWith("-*") ? nameAggr.slice(0, -2) : nameAggr.replace(/\*$/, "");
  const replicaSet = new RegExp(`^(.+)-${SAFE}{6,10}$`).exec(prefix);
  if (replicaSet?.[1]) return { kind: "Deployment", name: replicaSet[1] };
  const ordinal = STATEFULSET_POD.exec(prefix);
  if (ordinal?.[1]) return { kind: "StatefulSet", name: ordinal[1] };
  return { kind: "ReplicaSet", name: prefix };
}
