import type { Scenario, SimConnection, SimExternal, SimPeer, SimWorkload } from "./scenario.js";

/**
 * Google's Online Boutique (microservices-demo) plus the platform traffic of a real cluster:
 * CoreDNS, an ingress controller, a Prometheus scraper, kubelet probes, a CronJob, external
 * egress with DNS names, the cloud metadata address, the API server, and some denied flows.
 */

const SHOP = "online-boutique";

function app(name: string, kind: SimWorkload["kind"] = "Deployment", replicas = 2): SimWorkload {
  return {
    namespace: SHOP,
    name,
    kind,
    labels: { app: name, "app.kubernetes.io/part-of": "online-boutique" },
    replicas,
    serviceAccount: name,
    service: true,
  };
}

const workloads: SimWorkload[] = [
  app("frontend", "Deployment", 3),
  app("cartservice"),
  app("productcatalogservice"),
  app("currencyservice"),
  app("recommendationservice"),
  app("shippingservice"),
  app("checkoutservice"),
  app("paymentservice"),
  app("emailservice"),
  app("adservice"),
  app("redis-cart", "StatefulSet", 1),
  { ...app("loadgenerator", "Deployment", 1), service: false },
  {
    namespace: SHOP,
    name: "cart-cleanup",
    kind: "CronJob",
    labels: { app: "cart-cleanup" },
    replicas: 1,
    serviceAccount: "default",
  },
  {
    namespace: "kube-system",
    name: "coredns",
    kind: "Deployment",
    labels: { "k8s-app": "kube-dns" },
    replicas: 2,
    serviceAccount: "coredns",
    service: true,
  },
  {
    namespace: "ingress-nginx",
    name: "ingress-nginx-controller",
    kind: "Deployment",
    labels: {
      "app.kubernetes.io/name": "ingress-nginx",
      "app.kubernetes.io/instance": "ingress-nginx",
      "app.kubernetes.io/component": "controller",
    },
    replicas: 2,
    serviceAccount: "ingress-nginx",
    service: true,
  },
  {
    namespace: "monitoring",
    name: "prometheus-k8s",
    kind: "StatefulSet",
    labels: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "k8s" },
    replicas: 1,
    serviceAccount: "prometheus-k8s",
  },
];

const w = (name: string, ns = SHOP): SimPeer => ({ workload: `${ns}/${name}` });
const tcp = (from: SimPeer, to: SimPeer, port: number, weight: number): SimConnection => ({
  from,
  to,
  protocol: "TCP",
  port,
  weight,
});

export const EXTERNALS: Record<string, SimExternal> = {
  stripe: { ip: "54.187.174.169", names: ["api.stripe.com"] },
  stripe2: { ip: "54.187.205.235", names: ["api.stripe.com"] },
  sendgrid: { ip: "167.89.123.58", names: ["smtp.sendgrid.net"] },
  ecb: { ip: "104.18.26.71", names: ["www.ecb.europa.eu"] },
  metadata: { ip: "169.254.169.254", names: [] },
  client1: { ip: "203.0.113.10", names: [] },
  client2: { ip: "198.51.100.23", names: [] },
};

const services: Array<[string, number]> = [
  ["frontend", 8080],
  ["cartservice", 7070],
  ["productcatalogservice", 3550],
  ["currencyservice", 7000],
  ["recommendationservice", 8080],
  ["shippingservice", 50051],
  ["checkoutservice", 5050],
  ["paymentservice", 50051],
  ["emailservice", 8080],
  ["adservice", 9555],
  ["redis-cart", 6379],
];

const dnsClients = [
  "frontend",
  "cartservice",
  "productcatalogservice",
  "currencyservice",
  "recommendationservice",
  "shippingservice",
  "checkoutservice",
  "paymentservice",
  "emailservice",
  "adservice",
  "loadgenerator",
  "cart-cleanup",
];

const connections: SimConnection[] = [
  // The application.
  tcp(w("loadgenerator"), w("frontend"), 8080, 40),
  tcp(w("frontend"), w("adservice"), 9555, 20),
  tcp(w("frontend"), w("cartservice"), 7070, 30),
  tcp(w("frontend"), w("checkoutservice"), 5050, 8),
  tcp(w("frontend"), w("currencyservice"), 7000, 40),
  tcp(w("frontend"), w("productcatalogservice"), 3550, 40),
  tcp(w("frontend"), w("recommendationservice"), 8080, 20),
  tcp(w("frontend"), w("shippingservice"), 50051, 10),
  tcp(w("checkoutservice"), w("cartservice"), 7070, 8),
  tcp(w("checkoutservice"), w("currencyservice"), 7000, 8),
  tcp(w("checkoutservice"), w("emailservice"), 8080, 8),
  tcp(w("checkoutservice"), w("paymentservice"), 50051, 8),
  tcp(w("checkoutservice"), w("productcatalogservice"), 3550, 8),
  tcp(w("checkoutservice"), w("shippingservice"), 50051, 8),
  tcp(w("recommendationservice"), w("productcatalogservice"), 3550, 20),
  tcp(w("cartservice"), w("redis-cart"), 6379, 30),
  tcp(w("cart-cleanup"), w("redis-cart"), 6379, 0.2),
  // Ingress from the Internet through the ingress controller.
  tcp({ external: EXTERNALS.client1 as SimExternal }, w("ingress-nginx-controller", "ingress-nginx"), 443, 10),
  tcp({ external: EXTERNALS.client2 as SimExternal }, w("ingress-nginx-controller", "ingress-nginx"), 443, 5),
  tcp(w("ingress-nginx-controller", "ingress-nginx"), w("frontend"), 8080, 15),
  tcp(w("ingress-nginx-controller", "ingress-nginx"), { entity: "kube-apiserver", ip: "172.18.0.2" }, 6443, 1),
  // External egress.
  tcp(w("paymentservice"), { external: EXTERNALS.stripe as SimExternal }, 443, 4),
  tcp(w("paymentservice"), { external: EXTERNALS.stripe2 as SimExternal }, 443, 2),
  tcp(w("emailservice"), { external: EXTERNALS.sendgrid as SimExternal }, 587, 3),
  tcp(w("currencyservice"), { external: EXTERNALS.ecb as SimExternal }, 443, 1),
  tcp(w("adservice"), { external: EXTERNALS.metadata as SimExternal }, 80, 1),
  // Monitoring and the API server.
  ...services
    .filter(([name]) => name !== "redis-cart")
    .map(([name]) => tcp(w("prometheus-k8s", "monitoring"), w(name), 9464, 2)),
  tcp(w("prometheus-k8s", "monitoring"), { entity: "kube-apiserver", ip: "172.18.0.2" }, 6443, 1),
  // Kubelet probes from the node.
  ...services.map(([name, port]) => tcp({ entity: "host" }, w(name), port, 3)),
  // Denied today: the load generator trying the cart directly, and a stray scan.
  { ...tcp(w("loadgenerator"), w("cartservice"), 7070, 1), verdict: "dropped", dropReason: "POLICY_DENIED" },
  {
    ...tcp({ external: EXTERNALS.client2 as SimExternal }, w("frontend"), 8080, 0.5),
    verdict: "dropped",
    dropReason: "POLICY_DENIED",
  },
  // Cluster DNS, UDP and TCP 53.
  ...dnsClients.flatMap((name): SimConnection[] => {
    const scale = name === "cart-cleanup" ? 0.05 : 1;
    return [
      { from: w(name), to: w("coredns", "kube-system"), protocol: "UDP", port: 53, weight: 6 * scale },
      { from: w(name), to: w("coredns", "kube-system"), protocol: "TCP", port: 53, weight: 0.5 * scale },
    ];
  }),
];

export const onlineBoutique: Scenario = {
  name: "online-boutique",
  clusterName: "default",
  nodes: [
    { name: "kind-worker", ip: "172.18.0.3" },
    { name: "kind-worker2", ip: "172.18.0.4" },
    { name: "kind-worker3", ip: "172.18.0.5" },
  ],
  namespaces: [
    { name: SHOP, labels: { "kubernetes.io/metadata.name": SHOP } },
    { name: "kube-system", labels: { "kubernetes.io/metadata.name": "kube-system" } },
    { name: "ingress-nginx", labels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
    { name: "monitoring", labels: { "kubernetes.io/metadata.name": "monitoring" } },
  ],
  workloads,
  connections,
  start: Date.UTC(2026, 10, 20, 0, 0, 0),
  durationMs: 2 * 24 * 3600 * 1000,
};

export const SCENARIOS: Record<string, Scenario> = {
  "online-boutique": onlineBoutique,
};
