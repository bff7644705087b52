import { writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { DEFAULT_CLUSTER } from "../src/model/batch.js";
import { openStore } from "../src/store/db.js";

/**
 * A synthetic cluster for the `flowpol diff` benchmark: NAMESPACES x WORKLOADS_PER_NS workloads,
 * POLICIES_PER_NS policies per namespace (a default deny, a DNS allow, and allow policies with
 * pod, namespace and ipBlock peers, matchExpressions and port ranges), and a number of distinct
 * observed edges. Deterministic (seeded).
 */
export interface DiffFixtureSize {
  namespaces: number;
  workloadsPerNamespace: number;
  policiesPerNamespace: number;
  edges: number;
}

export const FULL_SIZE: DiffFixtureSize = {
  namespaces: 50,
  workloadsPerNamespace: 100,
  policiesPerNamespace: 40,
  edges: 100_000,
};

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ns = (i: number) => `ns-${String(i).padStart(2, "0")}`;
const wl = (i: number) => `wl-${String(i).padStart(3, "0")}`;
const labelsOf = (i: number) => ({ app: wl(i), tier: `tier-${i % 5}`, team: `team-${i % 7}` });
const PORTS = [80, 443, 5432, 6379, 8080, 9090, 50051];

function policiesFor(n: number, size: DiffFixtureSize, rand: () => number): object[] {
  const namespace = ns(n);
  const np = (name: string, spec: object) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace },
    spec,
  });
  const out: object[] = [
    np("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
    np("allow-dns", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
          ports: [{ port: 53, protocol: "UDP" }],
        },
      ],
    }),
  ];
  for (let k = 0; out.length < size.policiesPerNamespace; k++) {
    const target = Math.floor(rand() * size.workloadsPerNamespace);
    const other = ns(Math.floor(rand() * size.namespaces));
    const port = PORTS[Math.floor(rand() * PORTS.length)]!;
    out.push(
      np(`allow-${wl(target)}-${k}`, {
        podSelector: { matchLabels: { app: wl(target) } },
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          { from: [{ podSelector: { matchLabels: { tier: `tier-${k % 5}` } } }], ports: [{ port, protocol: "TCP" }] },
          {
            from: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": other } },
                podSelector: {
                  matchExpressions: [{ key: "team", operator: "In", values: [`team-${k % 7}`, `team-${(k + 3) % 7}`] }],
                },
              },
            ],
            ports: [{ port: 8000, endPort: 8100, protocol: "TCP" }],
          },
        ],
        egress: [
          {
            to: [
              { podSelector: { matchExpressions: [{ key: "tier", operator: "NotIn", values: [`tier-${k % 5}`] }] } },
            ],
          },
          { to: [{ ipBlock: { cidr: "203.0.113.0/24", except: ["203.0.113.128/25"] } }], ports: [{ port: 443 }] },
        ],
      }),
    );
  }
  return out;
}

/** Writes `policies.yaml` and a store with the observed edges; returns their paths. */
export function writeDiffFixture(dir: string, size: DiffFixtureSize, seed = 7): { policies: string; db: string } {
  const rand = rng(seed);
  const policies = `${dir}/policies.yaml`;
  const docs: string[] = [];
  for (let n = 0; n < size.namespaces; n++) for (const p of policiesFor(n, size, rand)) docs.push(stringify(p));
  writeFileSync(policies, docs.join("---\n"));

  const db = `${dir}/diff-bench.db`;
  const store = openStore(db);
  const T = Date.UTC(2026, 0, 1);
  try {
    store.transaction(() => {
      const ep = store.prepare(
        "INSERT INTO endpoints (id, cluster, type, namespace, kind, name, ip, first_seen, last_seen, flows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
      );
      const pod = store.prepare(
        "INSERT INTO pods (cluster, namespace, name, endpoint_id, labels, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      const nsRow = store.prepare(
        "INSERT INTO namespaces (cluster, name, labels, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)",
      );
      let id = 0;
      for (let n = 0; n < size.namespaces; n++) {
        nsRow.run(DEFAULT_CLUSTER, ns(n), JSON.stringify({ "kubernetes.io/metadata.name": ns(n) }), T, T);
        for (let w = 0; w < size.workloadsPerNamespace; w++) {
          id++;
          ep.run(id, DEFAULT_CLUSTER, "workload", ns(n), "Deployment", wl(w), "", T, T);
          pod.run(DEFAULT_CLUSTER, ns(n), `${wl(w)}-7d4b8c9f5-abcde`, id, JSON.stringify(labelsOf(w)), T, T);
        }
      }
      const workloads = id;
      const externals = 256;
      for (let x = 0; x < externals; x++) ep.run(++id, DEFAULT_CLUSTER, "external", "", "", "", `203.0.113.${x}`, T, T);
      const edge = store.prepare(
        "INSERT OR IGNORE INTO edges (src_id, dst_id, protocol, port, verdict, source_system, count, first_seen, last_seen) VALUES (?, ?, ?, ?, 'forwarded', 'hubble', ?, ?, ?)",
      );
      let written = 0;
      while (written < size.edges) {
        const src = 1 + Math.floor(rand() * workloads);
        const toExternal = rand() < 0.1;
        const dst = toExternal ? workloads + 1 + Math.floor(rand() * externals) : 1 + Math.floor(rand() * workloads);
        const port = rand() < 0.2 ? 8000 + Math.floor(rand() * 200) : PORTS[Math.floor(rand() * PORTS.length)]!;
        const protocol = rand() < 0.05 ? "UDP" : "TCP";
        written += edge.run(src, dst, protocol, port, 1 + Math.floor(rand() * 50), T, T).changes;
      }
    })();
  } finally {
    store.close();
  }
  return { policies, db };
}
