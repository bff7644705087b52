import { invalidLabel } from "../model/k8s-names.js";
import { type TranslatedPolicy, translateCiliumPolicy } from "./cilium-policy.js";
import { isProtocol } from "./conn-set.js";
import { type IngressObject, readIngress, readRoute, readService, type Service } from "./ingress-objects.js";
import { translateStagedPolicy } from "./staged-policy.js";
import type { ContainerPort, Labels, Namespace, NetworkPolicy, Pod, SourceRef } from "./types.js";
import { isNamedPort, MESSAGES, parseNetworkPolicy, policyNameIssue, type ValidationIssue } from "./validate.js";

/**
 * Kubernetes objects (already parsed from YAML or JSON) to the engine's model: NetworkPolicies,
 * Namespaces, and workloads (a Pod stands for itself or its owner; a Deployment, StatefulSet...
 * with no Pods stands for the pods its template would create). Pure.
 */
export interface RawObject {
  value: Record<string, unknown>;
  source: SourceRef;
  /** The line of a field, by JSON path (`spec.ingress[0].from`), when the reader knows it. */
  lineOf?: (path: string) => number | undefined;
}

/** A workload as the analyzer names it: `ns/name[Kind]`. Replicas collapse into one. */
export interface Workload {
  namespace: string;
  name: string;
  kind: string;
  pod: Pod;
  source: SourceRef;
}

export function topologyWorkloadId(w: { namespace: string; name: string; kind: string }): string {
  return `${w.namespace}/${w.name}[${w.kind}]`;
}

export interface ObjectProblem {
  source: SourceRef;
  lineOf?: (path: string) => number | undefined;
  /** The kind and name of the object, when known. */
  object: string;
  issues: ValidationIssue[];
}

/**
 * A policy the API server would refuse for its name alone: a second policy with a name already
 * taken in its namespace (not in `policies`: the first one is), or a name that is not a DNS
 * subdomain (in `policies`). Whether that is fatal is the caller's choice.
 */
export interface NameProblem {
  kind: "duplicate" | "invalid";
  policy: NetworkPolicy;
  issue: ValidationIssue;
}

export interface Topology {
  policies: NetworkPolicy[];
  nameProblems: NameProblem[];
  namespaces: Namespace[];
  workloads: Workload[];
  /** Services, Ingresses and Routes: where an ingress controller sends traffic (netpol-analyzer's `{ingress-controller}`). */
  services: Service[];
  ingresses: IngressObject[];
  problems: ObjectProblem[];
  /**
   * Policies the engine cannot evaluate exactly (a kind it does not read, or a construct of a
   * kind it reads), with what is missing. Callers refuse them: a check without them would lie.
   */
  unsupported: ObjectProblem[];
  /** How many objects of kinds the engine does not use (Services, ConfigMaps...). */
  ignored: number;
  /** Where each policy's fields are, for findings that name a line. */
  policyLines: Map<NetworkPolicy, (path: string) => number | undefined>;
}

/** Kinds whose pod template sits at spec.template. */
const TEMPLATE_KINDS = new Set([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "ReplicationController",
  "Job",
]);

export const DEFAULT_NAMESPACE = "default";

/** The kinds read into the engine besides NetworkPolicy (flowpol's cilium and calico-staged flavors). */
const TRANSLATED_KINDS: Record<string, (value: Record<string, unknown>) => TranslatedPolicy> = {
  CiliumNetworkPolicy: translateCiliumPolicy,
  StagedKubernetesNetworkPolicy: translateStagedPolicy,
};

/** Policy kinds the engine does not read: refused, never skipped. */
const UNREAD_POLICY_KINDS = new Set([
  "AdminNetworkPolicy",
  "BaselineAdminNetworkPolicy",
  "CiliumClusterwideNetworkPolicy",
  "ClusterNetworkPolicy",
  "GlobalNetworkPolicy",
  "StagedGlobalNetworkPolicy",
  "StagedNetworkPolicy",
]);

function isCalicoApi(value: Record<string, unknown>): boolean {
  return typeof value.apiVersion === "string" && /projectcalico\.org\//.test(value.apiVersion);
}

export function buildTopology(objects: readonly RawObject[]): Topology {
  const policyLines = new Map<NetworkPolicy, (path: string) => number | undefined>();
  const topo: Topology = {
    policies: [],
    nameProblems: [],
    namespaces: [],
    workloads: [],
    services: [],
    ingresses: [],
    problems: [],
    unsupported: [],
    ignored: 0,
    policyLines,
  };
  const policyNames = new Map<string, SourceRef>();
  const workloadIds = new Set<string>();
  const namespaceNames = new Set<string>();
  for (const { value, source, lineOf } of objects) {
    const kind = typeof value.kind === "string" ? value.kind : "";
    const label = `${kind || "object"} ${JSON.stringify(nameOf(value))}`;
    const fail = (issues: ValidationIssue[]) =>
      topo.problems.push(lineOf ? { source, object: label, issues, lineOf } : { source, object: label, issues });
    const calicoNetworkPolicy = kind === "NetworkPolicy" && isCalicoApi(value);
    if (UNREAD_POLICY_KINDS.has(kind) || calicoNetworkPolicy) {
      const what = calicoNetworkPolicy ? "Calico's NetworkPolicy (projectcalico.org/v3)" : kind;
      const issue = { path: "kind", message: `${what} is not read by flowpol's policy engine` };
      topo.unsupported.push(
        lineOf ? { source, object: label, issues: [issue], lineOf } : { source, object: label, issues: [issue] },
      );
    } else if (kind === "NetworkPolicy" || Object.hasOwn(TRANSLATED_KINDS, kind)) {
      const translated = (Object.hasOwn(TRANSLATED_KINDS, kind) ? TRANSLATED_KINDS[kind]!(value) : undefined) ?? {
        ...parseNetworkPolicy(value, DEFAULT_NAMESPACE, { allowInvalidName: true }),
        unsupported: [],
      };
      const { policy, issues, unsupported } = translated;
      if (unsupported.length > 0) {
        topo.unsupported.push(
          lineOf
            ? { source, object: label, issues: unsupported, lineOf }
            : { source, object: label, issues: unsupported },
        );
        continue;
      }
      if (!policy) {
        fail(issues);
        continue;
      }
      policy.source = source;
      if (lineOf) policyLines.set(policy, lineOf);
      const key = `${kind}/${policy.namespace}/${policy.name}`;
      const first = policyNames.get(key);
      if (first) {
        const message = `${kind} ${JSON.stringify(`${policy.namespace}/${policy.name}`)} already exists (${first.file} document ${first.document}). ${MESSAGES.duplicateName}`;
        topo.nameProblems.push({ kind: "duplicate", policy, issue: { path: "metadata.name", message } });
        continue;
      }
      policyNames.set(key, source);
      const nameIssue = policyNameIssue(policy.name);
      if (nameIssue) topo.nameProblems.push({ kind: "invalid", policy, issue: nameIssue });
      topo.policies.push(policy);
    } else if (kind === "Namespace") {
      const meta = asObject(value.metadata);
      const name = nameOf(value);
      const labels = readLabels(meta.labels);
      if (!name || typeof labels === "string") {
        fail([{ path: "metadata", message: typeof labels === "string" ? labels : "a Namespace needs a name" }]);
        continue;
      }
      if (namespaceNames.has(name)) continue;
      namespaceNames.add(name);
      topo.namespaces.push({ name, labels });
    } else if (kind === "Pod" || kind === "CronJob" || TEMPLATE_KINDS.has(kind)) {
      const w = readWorkload(kind, value, source);
      if (typeof w === "string") {
        fail([{ path: "", message: w }]);
        continue;
      }
      const id = topologyWorkloadId(w);
      if (workloadIds.has(id)) continue;
      workloadIds.add(id);
      topo.workloads.push(w);
    } else if (kind === "Service" || kind === "Ingress" || kind === "Route") {
      const meta = asObject(value.metadata);
      const namespace = typeof meta.namespace === "string" && meta.namespace ? meta.namespace : DEFAULT_NAMESPACE;
      const name = nameOf(value);
      if (kind === "Service") topo.services.push(readService(value, namespace, name));
      else topo.ingresses.push((kind === "Ingress" ? readIngress : readRoute)(value, namespace, name));
    } else {
      topo.ignored++;
    }
  }
  return topo;
}

function asObject(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function nameOf(value: Record<string, unknown>): string {
  const name = asObject(value.metadata).name;
  return typeof name === "string" ? name : "";
}

function readLabels(raw: unknown): Labels | string {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(asObject(raw))) {
    if (typeof v !== "string") return `label ${k}: the value must be a string (quote it)`;
    labels[k] = v;
  }
  return invalidLabel(labels) ?? labels;
}

function readWorkload(kind: string, value: Record<string, unknown>, source: SourceRef): Workload | string {
  const meta = asObject(value.metadata);
  const name = nameOf(value);
  if (!name) return `a ${kind} needs metadata.name`;
  const namespace = typeof meta.namespace === "string" && meta.namespace ? meta.namespace : DEFAULT_NAMESPACE;
  let podMeta = meta;
  let podSpec = asObject(value.spec);
  let owner = { kind, name };
  if (kind === "Pod") {
    owner = podOwner(meta.ownerReferences) ?? { kind: "Pod", name };
  } else {
    const template =
      kind === "CronJob"
        ? asObject(asObject(asObject(asObject(value.spec).jobTemplate).spec).template)
        : asObject(asObject(value.spec).template);
    podMeta = asObject(template.metadata);
    podSpec = asObject(template.spec);
  }
  const labels = readLabels(podMeta.labels);
  if (typeof labels === "string") return labels;
  const ports = readContainerPorts(podSpec);
  const pod: Pod = { namespace, labels, ports, ips: kind === "Pod" ? podIps(asObject(value.status)) : [] };
  return { namespace, name: owner.name, kind: owner.kind, pod, source };
}

/**
 * The controller in ownerReferences (else the first owner); pods owned by a Node stand alone. An
 * owner named without a kind still groups its pods, shown as `[Pod]` (netpol-analyzer's convention).
 */
function podOwner(raw: unknown): { kind: string; name: string } | undefined {
  if (!Array.isArray(raw)) return undefined;
  const refs = raw.map(asObject).filter((r) => typeof r.name === "string" && r.name !== "");
  const ref = refs.find((r) => r.controller === true) ?? refs[0];
  if (!ref || ref.kind === "Node") return undefined;
  return { kind: typeof ref.kind === "string" && ref.kind !== "" ? ref.kind : "Pod", name: ref.name as string };
}

function podIps(status: Record<string, unknown>): string[] {
  const ips = new Set<string>();
  if (typeof status.podIP === "string" && status.podIP) ips.add(status.podIP);
  if (Array.isArray(status.podIPs)) {
    for (const entry of status.podIPs) {
      const ip = asObject(entry).ip;
      if (typeof ip === "string" && ip) ips.add(ip);
    }
  }
  return [...ips];
}

/**
 * Container ports, for resolving named ports. Entries Kubernetes would reject (no containerPort,
 * an unknown protocol, a bad name) are skipped: they cannot be the target of a named port.
 */
function readContainerPorts(spec: Record<string, unknown>): ContainerPort[] {
  const out: ContainerPort[] = [];
  const containers = [spec.containers, spec.initContainers].flatMap((c) => (Array.isArray(c) ? c : []));
  for (const c of containers) {
    const ports = asObject(c).ports;
    if (!Array.isArray(ports)) continue;
    for (const raw of ports) {
      const p = asObject(raw);
      const protocol = p.protocol ?? "TCP";
      const number = p.containerPort;
      if (
        !isProtocol(protocol) ||
        typeof number !== "number" ||
        !Number.isInteger(number) ||
        number < 1 ||
        number > 65535
      ) {
        continue;
      }
      const port: ContainerPort = { containerPort: number, protocol };
      if (typeof p.name === "string" && isNamedPort(p.name)) port.name = p.name;
      out.push(port);
    }
  }
  return out;
}
