/**
 * High-churn Hubble lines (`hubble observe -o jsonpb`): 200 workloads in 20 namespaces, 600 edges,
 * a new pod IP and name for 3 flows in 10, an ephemeral source port and a uuid per flow. Seeded:
 * the same arguments give the same lines.
 */
export function churnLines(count: number, seed = 1): string[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[int(0, 15)]).join("");

  const workloads = Array.from({ length: 200 }, (_, i) => ({ ns: `ns${i % 20}`, app: `svc${i}`, identity: 10000 + i }));
  const edges = Array.from({ length: 600 }, () => ({
    from: pick(workloads),
    to: pick(workloads),
    port: pick([80, 443, 8080, 5432, 6379, 9090]),
  }));
  let pods = 0;
  const pod = (w: (typeof workloads)[number]) => {
    const n = ++pods;
    const h = Array.from({ length: 10 }, () => "bcdfghjklmnpqrstvwxz2456789"[int(0, 26)]).join("");
    return { ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, name: `${w.app}-${h}-${h.slice(0, 5)}` };
  };
  const current = new Map(workloads.map((w) => [w, pod(w)]));
  const endpoint = (w: (typeof workloads)[number], p: { name: string }) => ({
    ID: int(1, 4000),
    identity: w.identity,
    cluster_name: "default",
    namespace: w.ns,
    labels: [
      `k8s:app=${w.app}`,
      `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${w.ns}`,
      "k8s:io.cilium.k8s.policy.cluster=default",
      `k8s:io.cilium.k8s.policy.serviceaccount=${w.app}`,
      `k8s:io.kubernetes.pod.namespace=${w.ns}`,
    ],
    pod_name: p.name,
    workloads: [{ name: w.app, kind: "Deployment" }],
  });
  const t0 = Date.UTC(2026, 10, 20);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    if (random() < 0.3) {
      const w = pick(workloads);
      current.set(w, pod(w));
    }
    const { from, to, port } = pick(edges);
    const reply = random() < 0.3;
    const drop = random() < 0.02;
    const ephemeral = int(32768, 60999);
    const [sw, dw] = reply ? [to, from] : [from, to];
    const src = current.get(sw) as { ip: string; name: string };
    const dst = current.get(dw) as { ip: string; name: string };
    const node = `node-${int(0, 9)}`;
    const time = `${new Date(t0 + i * 7).toISOString().slice(0, -1)}000000Z`;
    const flow: Record<string, unknown> = {
      time,
      uuid: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
      verdict: drop ? "DROPPED" : "FORWARDED",
      IP: { source: src.ip, destination: dst.ip, ipVersion: "IPv4" },
      l4: {
        TCP: {
          source_port: reply ? port : ephemeral,
          destination_port: reply ? ephemeral : port,
          flags: reply ? { ACK: true } : { SYN: true },
        },
      },
      source: endpoint(sw, src),
      destination: endpoint(dw, dst),
      Type: "L3_L4",
      node_name: node,
      event_type: { type: drop ? 1 : 4, sub_type: pick([0, 3]) },
      traffic_direction: pick(["INGRESS", "EGRESS"]),
      trace_observation_point: "TO_ENDPOINT",
      is_reply: reply,
      Summary: reply ? "TCP Flags: ACK" : "TCP Flags: SYN",
    };
    if (drop) flow.drop_reason_desc = "POLICY_DENIED";
    lines.push(JSON.stringify({ flow, node_name: node, time }));
  }
  return lines;
}
