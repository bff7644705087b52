import { describe, expect, it } from "vitest";
import { deriveWorkload, deriveWorkloadFromAggregatedName } from "../../src/collect/workload.js";

describe("deriveWorkload", () => {
  it.each([
    [
      "a Deployment pod by its pod-template-hash",
      "frontend-7d4b8c9f5-xk2mh",
      { "pod-template-hash": "7d4b8c9f5" },
      "Deployment",
      "frontend",
    ],
    ["a Deployment pod by name pattern", "cartservice-5d8f9c7b6d-q2w4x", {}, "Deployment", "cartservice"],
    ["a StatefulSet pod by ordinal", "redis-cart-0", {}, "StatefulSet", "redis-cart"],
    ["a StatefulSet pod by its label", "db-12", { "statefulset.kubernetes.io/pod-name": "db-12" }, "StatefulSet", "db"],
    [
      "a CronJob pod by its job-name label",
      "backup-29123456-abcde",
      { "job-name": "backup-29123456" },
      "CronJob",
      "backup",
    ],
    ["a Job pod by its job-name label", "migrate-x7k2p", { "job-name": "migrate" }, "Job", "migrate"],
    ["a CronJob pod by name pattern", "report-28999999-bcdfg", {}, "CronJob", "report"],
    [
      "a DaemonSet pod by its labels",
      "node-exporter-x7k2p",
      { "controller-revision-hash": "abc", "pod-template-generation": "1" },
      "DaemonSet",
      "node-exporter",
    ],
    ["a bare pod", "xwing", {}, "Pod", "xwing"],
  ])("recognises %s", (_name, pod, labels, kind, name) => {
    expect(deriveWorkload(pod, labels as Record<string, string>)).toEqual({ kind, name });
  });

  it.each([
    ["frontend-755cdc7957-*", {}, "Deployment", "frontend"],
    ["frontend-755cdc7957-*", { "pod-template-hash": "755cdc7957" }, "Deployment", "frontend"],
    ["redis-cart-*", { "controller-revision-hash": "redis-cart-6d5f8b7c9" }, "StatefulSet", "redis-cart"],
    [
      "node-exporter-*",
      { "controller-revision-hash": "abc", "pod-template-generation": "2" },
      "DaemonSet",
      "node-exporter",
    ],
    ["node-exporter-*", {}, "DaemonSet", "node-exporter"],
    ["report-28999999-*", {}, "CronJob", "report"],
    ["migrate-*", { "job-name": "migrate" }, "Job", "migrate"],
    ["debug-shell", {}, "Pod", "debug-shell"],
  ])("resolves Calico aggregated name %s with labels %j", (aggr, labels, kind, name) => {
    expect(deriveWorkloadFromAggregatedName(aggr, labels as Record<string, string>)).toEqual({ kind, name });
  });
});
