import { join } from "node:path";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import { emptyEndpoint, type Flow, type FlowEndpoint, type Protocol, type Verdict } from "../../src/model/flow.js";
import { openStore } from "../../src/store/db.js";
import { startIngest } from "../../src/store/ingest-log.js";
import { BatchWriter } from "../../src/store/write-batch.js";

/**
 * A small hand-built cluster, written through the real store code (BatchBuilder + BatchWriter):
 * namespace `shop` (frontend, cart, redis, a CronJob), `monitoring` (Prometheus scraping shop),
 * `kube-system` (CoreDNS), NodeLocal DNS on 169.254.20.10, the API server, kubelet probes from a
 * node, external egress with a DNS name, the cloud metadata address, ICMP and a drop.
 */

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

export function pod(
  namespace: string,
  kind: string,
  workload: string,
  podName: string,
  labels: Record<string, string>,
): FlowEndpoint {
  return {
    ...emptyEndpoint(),
    namespace,
    podName,
    workload: { kind, name: workload },
    labels,
    namespaceLabels: { "kubernetes.io/metadata.name": namespace },
  };
}

export function entity(name: "host" | "remote-node" | "kube-apiserver", ip: string): FlowEndpoint {
  return { ...emptyEndpoint(), entity: name, ip };
}

export function world(ip: string, dnsNames: string[] = []): FlowEndpoint {
  return { ...emptyEndpoint(), entity: "world", ip, dnsNames };
}

export function flow(
  source: FlowEndpoint,
  destination: FlowEndpoint,
  protocol: Protocol,
  port: number,
  options: { verdict?: Verdict; count?: number; at?: number } = {},
): Flow {
  return {
    time: T0 + (options.at ?? 0) * 60_000,
    verdict: options.verdict ?? "forwarded",
    direction: "egress",
    isReply: false,
    protocol,
    ...(protocol === "ICMPv4" ? {} : { sourcePort: 40000, destinationPort: port }),
    source,
    destination,
    sourceSystem: "hubble",
    count: options.count ?? 1,
  };
}

export const FRONTEND = pod("shop", "Deployment", "frontend", "frontend-7d4b8c9f5-xk2mh", {
  "app.kubernetes.io/name": "frontend",
  "pod-template-hash": "7d4b8c9f5",
});
export const FRONTEND_2 = pod("shop", "Deployment", "frontend", "frontend-7d4b8c9f5-q2w4x", {
  "app.kubernetes.io/name": "frontend",
  "pod-template-hash": "7d4b8c9f5",
});
export const CART = pod("shop", "Deployment", "cart", "cart-5d8f9c7b6d-q2w4x", {
  app: "cart",
  tier: "backend",
  "pod-template-hash": "5d8f9c7b6d",
});
export const REDIS = pod("shop", "StatefulSet", "redis", "redis-0", {
  app: "redis",
  tier: "backend",
  "statefulset.kubernetes.io/pod-name": "redis-0",
});
export const REPORT = pod("shop", "CronJob", "report", "report-29123456-bcdfg", {
  app: "report",
  "job-name": "report-29123456",
  "batch.kubernetes.io/job-name": "report-29123456",
  "controller-uid": "0f1e",
});
export const PROMETHEUS = pod("monitoring", "StatefulSet", "prometheus", "prometheus-0", {
  "app.kubernetes.io/name": "prometheus",
  "statefulset.kubernetes.io/pod-name": "prometheus-0",
});
export const COREDNS = pod("kube-system", "Deployment", "coredns", "coredns-6c7b8dc9f9-gnxh2", {
  "k8s-app": "kube-dns",
  "pod-template-hash": "6c7b8dc9f9",
});

export function shopFlows(): Flow[] {
  const node = entity("host", "10.1.0.5");
  const api = entity("kube-apiserver", "10.0.0.1");
  return [
    flow(FRONTEND, CART, "TCP", 7070, { count: 40 }),
    flow(FRONTEND_2, CART, "TCP", 7070, { count: 12, at: 5 }),
    flow(FRONTEND, CART, "TCP", 7071, { count: 3, at: 7 }),
    flow(CART, REDIS, "TCP", 6379, { count: 55 }),
    flow(REPORT, CART, "TCP", 7070, { count: 2, at: 30 }),
    flow(FRONTEND, COREDNS, "UDP", 53, { count: 30 }),
    flow(CART, COREDNS, "TCP", 53, { count: 4 }),
    flow(CART, world("169.254.20.10"), "UDP", 53, { count: 6 }),
    flow(PROMETHEUS, FRONTEND, "TCP", 9090, { count: 10 }),
    flow(PROMETHEUS, CART, "TCP", 9090, { count: 10 }),
    flow(PROMETHEUS, COREDNS, "TCP", 9153, { count: 10 }),
    flow(node, FRONTEND, "TCP", 8080, { count: 20 }),
    flow(FRONTEND, world("93.184.216.34", ["api.example.com"]), "TCP", 443, { count: 8 }),
    flow(FRONTEND, world("93.184.216.35", ["api.example.com"]), "TCP", 443, { count: 2 }),
    flow(FRONTEND, world("169.254.169.254"), "TCP", 80, { count: 1 }),
    flow(REPORT, api, "TCP", 6443, { count: 5 }),
    flow(FRONTEND, CART, "ICMPv4", 0, { count: 2 }),
    flow(CART, FRONTEND, "TCP", 8080, { verdict: "dropped", count: 3 }),
  ];
}

/** Writes the flows into a fresh store at `dir/flowpol.db` and returns its path. */
export function writeStore(dir: string, flows: Flow[] = shopFlows()): string {
  const path = join(dir, "flowpol.db");
  const db = openStore(path);
  try {
    const builder = new BatchBuilder();
    for (const f of flows) builder.addFlow(f);
    const writer = new BatchWriter(db);
    db.transaction(() => {
      const id = startIngest(
        db,
        { source_system: "hubble", kind: "file", path: "shop", format: "test", head_hash: "" },
        T0,
      );
      writer.write(builder.build(), id, "hubble");
    })();
  } finally {
    db.close();
  }
  return path;
}
