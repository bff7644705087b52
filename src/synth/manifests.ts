import {
  DESCRIPTION_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  NAMESPACE_NAME_LABEL,
  PURPOSE_LABEL,
} from "../model/labels.js";
import type { Flavor, Peer, PolicyIntent, PortRef, Rule } from "./intent.js";

/**
 * Plan to Kubernetes objects, per flavor. Objects are plain data; `src/render/yaml.ts` writes
 * them with sorted keys and apiVersion, kind, metadata, spec first.
 */

/** Purposes of the exceptions flowpol writes on purpose, whether or not traffic was observed. */
const EXCEPTION_PURPOSES: ReadonlySet<string> = new Set(["dns", "shared"]);

/** The purpose of a named exception that flowpol generated, from a policy's labels. */
export function generatedException(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  const purpose = labels?.[PURPOSE_LABEL];
  if (labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE || purpose === undefined) return undefined;
  return EXCEPTION_PURPOSES.has(purpose) ? purpose : undefined;
}
const CILIUM_NAMESPACE_LABEL = "k8s:io.kubernetes.pod.namespace";

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
};

export function toManifest(policy: PolicyIntent, flavor: Flavor): Manifest {
  const metadata = {
    name: policy.name,
    namespace: policy.namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [PURPOSE_LABEL]: policy.purpose },
    annotations: { [DESCRIPTION_ANNOTATION]: policy.description },
  };
  if (flavor === "cilium") {
    return { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata, spec: ciliumSpec(policy) };
  }
  const spec = kubernetesSpec(policy);
  if (flavor === "calico-staged") {
    return {
      apiVersion: "projectcalico.org/v3",
      kind: "StagedKubernetesNetworkPolicy",
      metadata,
      spec: { ...spec, stagedAction: "Set" },
    };
  }
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata, spec };
}

// ---- networking.k8s.io/v1 NetworkPolicy ----

export function kubernetesSpec(policy: PolicyIntent): Record<string, unknown> {
  const policyTypes: string[] = [];
  if (policy.ingress) policyTypes.push("Ingress");
  if (policy.egress) policyTypes.push("Egress");
  const spec: Record<string, unknown> = { podSelector: selector(policy.podSelector), policyTypes };
  if (policy.ingress && policy.ingress.length > 0) {
    spec.ingress = policy.ingress.map((r) => ({ from: r.peers.map(k8sPeer), ...k8sPorts(r.ports) }));
  }
  if (policy.egress && policy.egress.length > 0) {
    spec.egress = policy.egress.map((r) => ({ to: r.peers.map(k8sPeer), ...k8sPorts(r.ports) }));
  }
  return spec;
}

function selector(labels: Record<string, string>): Record<string, unknown> {
  return Object.keys(labels).length > 0 ? { matchLabels: { ...labels } } : {};
}

function k8sPeer(peer: Peer): Record<string, unknown> {
  switch (peer.kind) {
    case "pods":
      return peer.namespace === undefined
        ? { podSelector: selector(peer.podSelector) }
        : {
            namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } },
            podSelector: selector(peer.podSelector),
          };
    case "all-namespaces":
      return {
        namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "Exists" }] },
        podSelector: selector(peer.podSelector),
      };
    case "ip":
      return { ipBlock: peer.except ? { cidr: peer.cidr, except: [...peer.except] } : { cidr: peer.cidr } };
  }
}

function k8sPorts(ports: PortRef[]): { ports?: Array<{ protocol: string; port: number }> } {
  return ports.length > 0 ? { ports: ports.map((p) => ({ port: p.port, protocol: p.protocol })) } : {};
}

// ---- cilium.io/v2 CiliumNetworkPolicy ----

function ciliumSpec(policy: PolicyIntent): Record<string, unknown> {
  const spec: Record<string, unknown> = { endpointSelector: selector(policy.podSelector) };
  if (policy.purpose === "default-deny") {
    // An empty rule selects no peer: the endpoints are in default-deny for that direction (only
    // the directions the plan isolates: one may be left un-isolated).
    return { ...spec, ...(policy.egress ? { egress: [{}] } : {}), ...(policy.ingress ? { ingress: [{}] } : {}) };
  }
  if (policy.ingress) spec.ingress = policy.ingress.flatMap((r) => ciliumRules(r, "from", false));
  if (policy.egress) spec.egress = policy.egress.flatMap((r) => ciliumRules(r, "to", policy.purpose === "dns"));
  return spec;
}

function ciliumRules(rule: Rule, dir: "from" | "to", dnsProxy: boolean): Array<Record<string, unknown>> {
  const endpoints: Array<Record<string, unknown>> = [];
  const cidrs: string[] = [];
  const cidrSets: Array<{ cidr: string; except: string[] }> = [];
  const entities = new Set<string>();
  const fqdns = new Set<string>();
  for (const p of rule.peers) {
    if (p.kind === "pods") {
      const labels =
        p.namespace === undefined ? { ...p.podSelector } : { ...p.podSelector, [CILIUM_NAMESPACE_LABEL]: p.namespace };
      endpoints.push(Object.keys(labels).length > 0 ? { matchLabels: labels } : {});
    } else if (p.kind === "all-namespaces") {
      endpoints.push({
        matchExpressions: [{ key: CILIUM_NAMESPACE_LABEL, operator: "Exists" }],
        ...(Object.keys(p.podSelector).length > 0 ? { matchLabels: { ...p.podSelector } } : {}),
      });
    } else if (p.entity === "nodes") {
      for (const e of p.seenAs ?? ["host", "remote-node"]) entities.add(e);
    } else if (p.entity === "kube-apiserver") entities.add("kube-apiserver");
    else if (p.entity === "link-local-dns") {
      // NodeLocal DNSCache's address is bound on every node: Cilium gives it the host identity,
      // which no CIDR rule matches. `host` (the local node's addresses) is the narrowest peer.
      entities.add("host");
    } else if (p.entity === "world" && dir === "to" && p.dnsNames.length > 0) {
      for (const n of p.dnsNames) fqdns.add(n.replace(/\.$/, ""));
    } else if (p.except) cidrSets.push({ cidr: p.cidr, except: [...p.except] });
    else cidrs.push(p.cidr);
  }
  const toPorts =
    rule.ports.length > 0
      ? [
          {
            ports: rule.ports.map((p) => ({ port: String(p.port), protocol: p.protocol })),
            ...(dnsProxy ? { rules: { dns: [{ matchPattern: "*" }] } } : {}),
          },
        ]
      : undefined;
  const withPorts = (r: Record<string, unknown>) => (toPorts ? { ...r, toPorts } : r);
  const out: Array<Record<string, unknown>> = [];
  const cap = dir === "from" ? "from" : "to";
  if (endpoints.length > 0) out.push(withPorts({ [`${cap}Endpoints`]: endpoints }));
  if (entities.size > 0) out.push(withPorts({ [`${cap}Entities`]: [...entities].sort() }));
  if (cidrs.length > 0) out.push(withPorts({ [`${cap}CIDR`]: cidrs }));
  if (cidrSets.length > 0) out.push(withPorts({ [`${cap}CIDRSet`]: cidrSets }));
  if (fqdns.size > 0) out.push(withPorts({ toFQDNs: [...fqdns].sort().map((matchName) => ({ matchName })) }));
  return out;
}
