import type { DependencyGraph } from "../graph/index.js";
import { isDns1123Label } from "../model/k8s-names.js";
import { evidenceMarkdown, namespaceEvidence } from "../render/evidence.js";
import { toYaml } from "../render/yaml.js";
import { applyLimitWarning } from "./apply-limits.js";
import type { Flavor, PolicyIntent, PolicyPlan } from "./intent.js";
import { type Manifest, toManifest } from "./manifests.js";
import type { NetworkPolicyObject } from "./proof.js";

/**
 * The generated tree as plain data (relative path and text); the CLI writes it. Per namespace a
 * folder with one YAML file per policy, a kustomization.yaml and EVIDENCE.md; at the top a
 * kustomization.yaml naming the folders.
 */

export interface GeneratedFile {
  path: string;
  content: string;
}

export interface GeneratedTree {
  files: GeneratedFile[];
  manifests: Manifest[];
  /** The policy objects as written, in the flavor asked for: the proof reads them as `diff` reads the files. */
  networkPolicies: NetworkPolicyObject[];
  /** Files too large for the usual ways of applying them (`applyLimitWarning`). */
  warnings: string[];
}

export function generateTree(graph: DependencyGraph, plan: PolicyPlan, flavor: Flavor): GeneratedTree {
  const files: GeneratedFile[] = [];
  const manifests: Manifest[] = [];
  const networkPolicies: NetworkPolicyObject[] = [];
  const warnings: string[] = [];
  const folders: string[] = [];
  const facts = namespaceEvidence(graph, plan.notAllowed);
  for (const nsPlan of plan.namespaces) {
    if (!isDns1123Label(nsPlan.namespace)) continue;
    folders.push(nsPlan.namespace);
    const resources: string[] = [];
    for (const p of nsPlan.policies) {
      const m = toManifest(p, flavor);
      manifests.push(m);
      networkPolicies.push(m as unknown as NetworkPolicyObject);
      const file = `${p.name}.yaml`;
      resources.push(file);
      files.push({ path: `${nsPlan.namespace}/${file}`, content: toYaml(m, cidrComments(p)) });
      const tooLarge = applyLimitWarning(`${nsPlan.namespace}/${file}`, m);
      if (tooLarge) warnings.push(tooLarge);
    }
    files.push({
      path: `${nsPlan.namespace}/kustomization.yaml`,
      content: toYaml({
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        namespace: nsPlan.namespace,
        resources: [...resources].sort(),
      }),
    });
    files.push({
      path: `${nsPlan.namespace}/EVIDENCE.md`,
      content: evidenceMarkdown(graph, nsPlan, facts.get(nsPlan.namespace)),
    });
  }
  files.push({
    path: "kustomization.yaml",
    content: toYaml({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: folders }),
  });
  return { files, manifests, networkPolicies, warnings };
}

function cidrComments(p: PolicyIntent): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of [...(p.ingress ?? []), ...(p.egress ?? [])]) {
    for (const peer of r.peers) {
      if (peer.kind !== "ip") continue;
      const what = peer.dnsNames.length > 0 ? peer.dnsNames.join(", ") : peer.entity === "world" ? "" : peer.entity;
      if (what) out.set(peer.cidr, what);
    }
  }
  return out;
}
