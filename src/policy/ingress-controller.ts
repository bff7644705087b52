import { ConnSet } from "./conn-set.js";
import type { Endpoint, PolicyEngine } from "./engine.js";
import type { Backend, Service, ServicePort } from "./ingress-objects.js";
import { type Topology, topologyWorkloadId, type Workload } from "./objects.js";
import { PortSet } from "./port-set.js";
import { compileSelector } from "./selector.js";

/**
 * netpol-analyzer's `{ingress-controller}`: a pod in a namespace of its own that sends what the
 * Ingresses and Routes route to, on the Service's target ports the workload exposes (TCP), as far
 * as the workload's policies let a pod of another namespace in.
 */
export const INGRESS_CONTROLLER_ID = "{ingress-controller}";
const INGRESS_CONTROLLER: Endpoint = {
  kind: "pod",
  pod: { namespace: "ingress-controller-ns", labels: {} },
};

export interface IngressConn {
  dst: string;
  conns: ConnSet;
  /** The Ingress or Route that routes to dst, for the warning when policies block it all. */
  via: string;
}

/** The connections from the ingress controller, per workload, before and after the policies. */
export function ingressControllerConns(topo: Topology, engine: PolicyEngine): IngressConn[] {
  const selected = new Map<string, { service: Service; workloads: Workload[] }>();
  for (const service of topo.services) {
    if (!service.selector) continue;
    const selects = compileSelector({ matchLabels: service.selector });
    const workloads = topo.workloads.filter((w) => w.namespace === service.namespace && selects(w.pod.labels));
    if (workloads.length > 0) selected.set(`${service.namespace}/${service.name}`, { service, workloads });
  }
  const routed = topo.ingresses.filter((i) => i.backends.length > 0);
  if (selected.size === 0 || routed.length === 0) return [];
  const byDst = new Map<string, { workload: Workload; conns: ConnSet; via: string }>();
  // Ingresses first: the analyzer's warning names an Ingress over a Route.
  for (const kind of ["Ingress", "Route"] as const) {
    for (const object of routed.filter((i) => i.kind === kind)) {
      for (const backend of object.backends) {
        const target = selected.get(`${object.namespace}/${backend.service}`);
        if (!target) continue;
        for (const w of target.workloads) {
          const conns = backendConns(w, target.service.ports, backend);
          const id = topologyWorkloadId(w);
          const prior = byDst.get(id);
          const via = `${kind === "Ingress" ? "K8s-Ingress" : "Route"} ${object.namespace}/${object.name}`;
          byDst.set(id, prior ? { ...prior, conns: prior.conns.union(conns) } : { workload: w, conns, via });
        }
      }
    }
  }
  const out: IngressConn[] = [];
  for (const [dst, { workload, conns, via }] of byDst) {
    const allowed = engine.allowed(INGRESS_CONTROLLER, { kind: "pod", pod: workload.pod });
    out.push({ dst, conns: conns.intersect(allowed), via });
  }
  return out;
}

/** TCP to the pod ports a backend reaches through its Service (all the Service's ports when it names none). */
function backendConns(w: Workload, ports: readonly ServicePort[], backend: Backend): ConnSet {
  let tcp = PortSet.EMPTY;
  for (const access of accessPorts(ports, backend)) {
    let number: number | undefined;
    if (typeof access === "number") number = access;
    else {
      const named = (w.pod.ports ?? []).find((c) => c.name === access);
      if (named?.protocol === "TCP") number = named.containerPort;
    }
    // The analyzer counts every container port as TCP here, whatever its protocol.
    if (number !== undefined && (w.pod.ports ?? []).some((c) => c.containerPort === number)) {
      tcp = tcp.union(PortSet.of(number));
    }
  }
  return ConnSet.of("TCP", tcp);
}

/** The analyzer's getPeerAccessPort: the first Service port the backend names, or all of them. */
function accessPorts(ports: readonly ServicePort[], backend: Backend): Array<number | string> {
  const access = (p: ServicePort) => p.targetPort ?? p.port;
  const wanted = backend.port;
  if (!wanted) return ports.map(access);
  const hit = ports.find((p) => {
    if (wanted.from === "Ingress") {
      if ("name" in wanted) return p.name !== undefined && p.name === wanted.name;
      return p.port === wanted.number || p.targetPort === wanted.number;
    }
    const t = wanted.targetPort;
    return (typeof t === "string" && p.name === t) || p.port === t || p.targetPort === t;
  });
  return hit ? [access(hit)] : [];
}
