import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { readTable } from "../helpers/store.js";

/**
 * A workload's label sets come from whatever its records carry (Hubble endpoint labels, Calico
 * `source_labels`/`dest_labels` at every aggregation level, Goldmane labels), and never from a
 * reserved identity: checked through `ingest` into a real store and the pods it keeps.
 */

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("flowpol-identity-"));
});
afterEach(() => cleanup());

function hubbleLine(time: string, sourceLabels: string[], podName = "node-local-dns-6jnx9"): string {
  return JSON.stringify({
    flow: {
      time,
      verdict: "FORWARDED",
      IP: { source: "10.156.0.2", destination: "10.156.2.7", ipVersion: "IPv4" },
      l4: { TCP: { source_port: 40000, destination_port: 8080 } },
      source: { identity: 1563, namespace: "kube-system", labels: sourceLabels, pod_name: podName },
      destination: {
        identity: 16781,
        namespace: "istio-system",
        labels: ["k8s:app=prometheus", "k8s:io.kubernetes.pod.namespace=istio-system"],
        pod_name: "prometheus-6655946b9f-6xcpf",
      },
      traffic_direction: "EGRESS",
      is_reply: false,
      node_name: "node-a",
    },
  });
}

function podLabels(db: string, pod: string): Record<string, string> {
  const rows = readTable(db, `SELECT labels FROM pods WHERE name = '${pod}'`) as Array<{ labels: string }>;
  expect(rows).toHaveLength(1);
  return JSON.parse(rows[0]?.labels ?? "{}") as Record<string, string>;
}

const REAL = ["k8s:k8s-app=node-local-dns", "k8s:io.kubernetes.pod.namespace=kube-system"];

describe("labels from a reserved identity", () => {
  it("never overwrite a pod's real labels, in one input", () => {
    const file = join(dir, "flows.jsonl");
    writeFileSync(
      file,
      `${[hubbleLine("2021-10-04T11:22:40Z", REAL), hubbleLine("2021-10-04T14:28:41Z", ["reserved:world"])].join("\n")}\n`,
    );
    const db = join(dir, "s.db");
    expect(runCli(["ingest", "--db", db, file]).code).toBe(0);
    expect(podLabels(db, "node-local-dns-6jnx9")).toEqual({ "k8s-app": "node-local-dns" });
  });

  it("never overwrite a pod's real labels across ingests (the store's upsert)", () => {
    const first = join(dir, "a.jsonl");
    const later = join(dir, "b.jsonl");
    writeFileSync(first, `${hubbleLine("2021-10-04T11:22:40Z", REAL)}\n`);
    writeFileSync(later, `${hubbleLine("2021-10-04T14:28:41Z", ["reserved:world"])}\n`);
    const db = join(dir, "s.db");
    expect(runCli(["ingest", "--db", db, first]).code).toBe(0);
    expect(runCli(["ingest", "--db", db, later]).code).toBe(0);
    expect(podLabels(db, "node-local-dns-6jnx9")).toEqual({ "k8s-app": "node-local-dns" });
  });

  it("are replaced when the pod's real labels come later", () => {
    const file = join(dir, "flows.jsonl");
    writeFileSync(
      file,
      `${[hubbleLine("2021-10-04T11:22:40Z", ["reserved:world"]), hubbleLine("2021-10-04T14:28:41Z", REAL)].join("\n")}\n`,
    );
    const db = join(dir, "s.db");
    expect(runCli(["ingest", "--db", db, file]).code).toBe(0);
    expect(podLabels(db, "node-local-dns-6jnx9")).toEqual({ "k8s-app": "node-local-dns" });
  });
});

describe("a pod seen only under a reserved identity", () => {
  it("does not lend its empty label set to its workload when diff judges policies", () => {
    const file = join(dir, "flows.jsonl");
    writeFileSync(
      file,
      `${[
        hubbleLine("2021-10-04T11:22:40Z", ["reserved:world"], "node-local-dns-2bbbb"),
        hubbleLine("2021-10-04T11:22:41Z", REAL, "node-local-dns-9zzzz"),
      ].join("\n")}\n`,
    );
    const db = join(dir, "s.db");
    expect(runCli(["ingest", "--db", db, file]).code).toBe(0);
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out, "--namespace", "kube-system,istio-system"]);
    expect(r.code, r.stderr).toBe(0);
    const diff = runCli(["diff", "--db", db, "--policies", out, "--fail-on", "denied"]);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
  });
});

function calicoLine(sourceName: string, sourceAggr: string, labels: string[] | null, time = 1795132800): string {
  return JSON.stringify({
    start_time: time,
    end_time: time + 300,
    source_ip: null,
    source_name: sourceName,
    source_name_aggr: sourceAggr,
    source_namespace: "shop",
    source_type: "wep",
    source_labels: labels === null ? null : { labels },
    dest_ip: null,
    dest_name: "-",
    dest_name_aggr: "cart-7d4f9c8b6d-*",
    dest_namespace: "shop",
    dest_type: "wep",
    dest_labels: { labels: ["app=cart", "pod-template-hash=7d4f9c8b6d"] },
    dest_port: 7070,
    proto: "tcp",
    action: "allow",
    reporter: "src",
    num_flows: 1,
  });
}

describe("labels of Calico records with aggregated names", () => {
  it("become the workload's label sets, so generate can select it", () => {
    const file = join(dir, "flows.log");
    writeFileSync(
      file,
      `${[
        calicoLine("-", "frontend-755cdc7957-*", ["app=frontend", "pod-template-hash=755cdc7957"]),
        // Labels not included (null) later: they do not erase the known ones.
        calicoLine("-", "frontend-755cdc7957-*", null, 1795133100),
      ].join("\n")}\n`,
    );
    const db = join(dir, "s.db");
    expect(runCli(["ingest", "--db", db, file]).code).toBe(0);
    expect(podLabels(db, "frontend-755cdc7957-*")).toEqual({ app: "frontend", "pod-template-hash": "755cdc7957" });
    expect(podLabels(db, "cart-7d4f9c8b6d-*")).toEqual({ app: "cart", "pod-template-hash": "7d4f9c8b6d" });

    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out, "--namespace", "shop"]);
    expect(r.code, r.stderr).toBe(0);
    const diff = runCli(["diff", "--db", db, "--policies", out, "--fail-on", "denied"]);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
    expect(r.stderr).not.toContain("no stable labels");
  });
});

describe("labels of Whisker flows (one `k=v | k2=v2` string)", () => {
  it("become the workload's label sets", () => {
    const item = (time: string) => ({
      start_time: time,
      end_time: time,
      action: "Allow",
      source_name: "frontend-755cdc7957-*",
      source_namespace: "shop",
      source_labels: "app=frontend | pod-template-hash=755cdc7957",
      dest_name: "cart-7d4f9c8b6d-*",
      dest_namespace: "shop",
      dest_labels: "app=cart | pod-template-hash=7d4f9c8b6d",
      protocol: "tcp",
      dest_port: 7070,
      reporter: "Src",
    });
    const file = join(dir, "whisker.json");
    writeFileSync(file, JSON.stringify({ total: 1, items: [item("2026-01-05T10:00:00Z")] }));
    const db = join(dir, "s.db");
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code, r.stderr).toBe(0);
    expect(podLabels(db, "frontend-755cdc7957-*")).toEqual({ app: "frontend", "pod-template-hash": "755cdc7957" });
    expect(podLabels(db, "cart-7d4f9c8b6d-*")).toEqual({ app: "cart", "pod-template-hash": "7d4f9c8b6d" });
  });
});
