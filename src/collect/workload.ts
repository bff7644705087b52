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
const REPLICASET = new RegExp(`^(.+)-${SAFE}{6,10}$`);

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
 * Calico's aggregated names: a pod's `generateName` followed by `*` (`frontend-755cdc7957-*`), or
 * a bare pod's full name. The workload must not change when a rollout changes the ReplicaSet
 * hash, so the hash is stripped. Labels (the intersection over the pods folded in) decide the
 * kind where they can, as for pod names; the name alone decides otherwise.
 */
export function deriveWorkloadFromAggregatedName(nameAggr: string, labels: Record<string, string> = {}): WorkloadRef {
  if (!nameAggr.endsWith("*")) return deriveWorkload(nameAggr, labels);
  const prefix = nameAggr.slice(0, nameAggr.endsWith("-*") ? -2 : -1);
  const jobName = labels["job-name"] ?? labels["batch.kubernetes.io/job-name"];
  if (jobName) {
    const cron = CRONJOB_JOB.exec(jobName);
    return cron?.[1] ? { kind: "CronJob", name: cron[1] } : { kind: "Job", name: jobName };
  }
  const templateHash = labels["pod-template-hash"];
  if (templateHash && prefix.endsWith(`-${templateHash}`)) {
    return { kind: "Deployment", name: prefix.slice(0, -templateHash.length - 1) };
  }
  if (labels["controller-revision-hash"]) {
    return { kind: labels["pod-template-generation"] ? "DaemonSet" : "StatefulSet", name: prefix };
  }
  const cronJob = CRONJOB_JOB.exec(prefix);
  if (cronJob?.[1]) return { kind: "CronJob", name: cronJob[1] };
  const replicaSet = REPLICASET.exec(prefix);
  if (replicaSet?.[1]) return { kind: "Deployment", name: replicaSet[1] };
  // StatefulSet and DaemonSet pods share the `<name>-*` form; without labels the pod-name
  // heuristics' choice for `<name>-<suffix>` applies.
  return { kind: "DaemonSet", name: prefix };
}
