import { createHash } from "node:crypto";
import { type Document, parseAllDocuments } from "yaml";
import { InputError } from "../errors.js";
import {
  DESCRIPTION_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  MANAGED_MARKDOWN_MARKER,
  PURPOSE_LABEL,
} from "../model/labels.js";
import type { ObjectRole, PlacedFile, PlacedObject, PolicyFile, WaveKind } from "./policy-set.js";

/**
 * Places every generated object in the wave where it cannot enforce more than that wave means
 * to. In Kubernetes an allow policy isolates every pod it selects, so:
 * - non-enforcing kinds (Calico staged policies) go to `observe`;
 * - ingress policies that select particular pods go to `allow`, unless their namespace has a
 *   namespace-wide ingress exception: that exception also allows traffic to those pods, so they go
 *   with it (every wave is then safe: a pod isolated for ingress has all its final ingress rules,
 *   since only policies of its own namespace select it);
 * - ingress policies that select every pod of a namespace (default-deny ingress, namespace-wide
 *   exceptions) isolate the whole namespace and go to its `deny-ingress` step;
 * - every egress policy (the DNS exception included) isolates egress and goes to `deny-egress`.
 * A policy for both directions is split in two, `<name>-ingress` and `<name>-egress`.
 */

type PolicyType = "Ingress" | "Egress";
type Obj = Record<string, unknown>;

const STAGED_KINDS = new Set(["StagedNetworkPolicy", "StagedKubernetesNetworkPolicy", "StagedGlobalNetworkPolicy"]);

export const KUSTOMIZATION = "kustomization.yaml";

export function isKustomizationPath(path: string): boolean {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base === "kustomization.yaml" || base === "kustomization.yml" || base === "Kustomization";
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonEmptyList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

function isEmptySelector(sel: unknown): boolean {
  if (sel === undefined || sel === null) return true;
  if (!isObj(sel)) return false;
  const labels = sel.matchLabels;
  const exprs = sel.matchExpressions;
  return (!isObj(labels) || Object.keys(labels).length === 0) && (!Array.isArray(exprs) || exprs.length === 0);
}

/** Which directions an object isolates, and whether it selects every pod of its namespace. */
interface Shape {
  directions: PolicyType[];
  /** Whether the object has any allow rule in a direction. */
  hasRules: (direction: PolicyType) => boolean;
  namespaceWide: boolean;
  /** Removes everything of the other direction from a copy of the document. */
  keepOnly: (doc: Document, direction: PolicyType) => void;
}

function kubernetesShape(spec: Obj): Shape {
  const declared = Array.isArray(spec.policyTypes) ? (spec.policyTypes as unknown[]) : undefined;
  const directions: PolicyType[] = declared
    ? (["Ingress", "Egress"] as const).filter((d) => declared.includes(d))
    : spec.egress !== undefined
      ? ["Ingress", "Egress"]
      : ["Ingress"];
  return {
    directions,
    namespaceWide: isEmptySelector(spec.podSelector),
    hasRules: (d) => nonEmptyList(spec[d === "Ingress" ? "ingress" : "egress"]),
    keepOnly: (doc, d) => {
      doc.setIn(["spec", "policyTypes"], [d]);
      doc.deleteIn(["spec", d === "Ingress" ? "egress" : "ingress"]);
    },
  };
}

function ciliumShape(spec: Obj): Shape {
  const has = (...keys: string[]) => keys.some((k) => spec[k] !== undefined);
  const directions: PolicyType[] = [];
  if (has("ingress", "ingressDeny")) directions.push("Ingress");
  if (has("egress", "egressDeny")) directions.push("Egress");
  return {
    directions,
    namespaceWide: isEmptySelector(spec.endpointSelector),
    hasRules: (d) =>
      (d === "Ingress" ? [spec.ingress] : [spec.egress]).some(
        (rules) => Array.isArray(rules) && rules.some((r) => isObj(r) && Object.keys(r).length > 0),
      ),
    keepOnly: (doc, d) => {
      for (const k of d === "Ingress" ? ["egress", "egressDeny"] : ["ingress", "ingressDeny"])
        doc.deleteIn(["spec", k]);
    },
  };
}

function calicoShape(spec: Obj): Shape {
  const declared = Array.isArray(spec.types) ? (spec.types as unknown[]) : undefined;
  const directions: PolicyType[] = declared
    ? (["Ingress", "Egress"] as const).filter((d) => declared.includes(d))
    : spec.egress !== undefined
      ? ["Ingress", "Egress"]
      : ["Ingress"];
  const selector = typeof spec.selector === "string" ? spec.selector.trim() : "";
  return {
    directions,
    namespaceWide: selector === "" || selector === "all()",
    hasRules: (d) => nonEmptyList(spec[d === "Ingress" ? "ingress" : "egress"]),
    keepOnly: (doc, d) => {
      doc.setIn(["spec", "types"], [d]);
      doc.deleteIn(["spec", d === "Ingress" ? "egress" : "ingress"]);
    },
  };
}

function shapeOf(obj: Obj, where: () => string): Shape | "staged" {
  const kind = String(obj.kind ?? "");
  const apiVersion = String(obj.apiVersion ?? "");
  if (STAGED_KINDS.has(kind)) return "staged";
  const spec = isObj(obj.spec) ? obj.spec : {};
  if (kind === "NetworkPolicy" && apiVersion.startsWith("networking.k8s.io/")) return kubernetesShape(spec);
  if (
    (kind === "CiliumNetworkPolicy" || kind === "CiliumClusterwideNetworkPolicy") &&
    apiVersion.startsWith("cilium.io/")
  ) {
    if (obj.specs !== undefined) {
      throw new InputError(
        `${kind} with a \`specs\` list cannot be split into waves`,
        undefined,
        `${where()}: write one \`spec\` per policy`,
      );
    }
    return ciliumShape(spec);
  }
  if ((kind === "NetworkPolicy" || kind === "GlobalNetworkPolicy") && apiVersion.startsWith("projectcalico.org/")) {
    return calicoShape(spec);
  }
  throw new InputError(
    `${where()}: flowpol rollout does not know which wave a ${kind || "document without a kind"} (${apiVersion || "no apiVersion"}) belongs to`,
    undefined,
    "the policy folder may hold NetworkPolicy, CiliumNetworkPolicy, Calico (staged) policies, kustomization.yaml and Markdown only",
  );
}

/** A DNS-1123 name of at most 63 characters: `<name>-<suffix>`, shortened with a hash if needed. */
export function suffixedName(name: string, suffix: string): string {
  const full = `${name}-${suffix}`;
  if (full.length <= 63) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  const room = 63 - suffix.length - hash.length - 2;
  return `${name.slice(0, room).replace(/-+$/, "")}-${hash}-${suffix}`;
}

function ensureManagedLabel(doc: Document): void {
  if (doc.getIn(["metadata", "labels", MANAGED_BY_LABEL]) !== MANAGED_BY_VALUE) {
    doc.setIn(["metadata", "labels", MANAGED_BY_LABEL], MANAGED_BY_VALUE);
  }
}

function docText(doc: Document): string {
  const s = doc.toString({ lineWidth: 0 });
  return s.endsWith("\n") ? s : `${s}\n`;
}

interface PlacedDoc {
  purpose: string;
  why: string;
  role: ObjectRole;
  direction: PlacedObject["direction"];
  wave: WaveKind;
  namespace: string;
  split: PolicyType | undefined;
  kind: string;
  name: string;
  text: string;
}

function placeDocument(doc: Document, where: () => string, defaultNamespace: string): PlacedDoc[] {
  const obj = doc.toJS() as unknown;
  if (!isObj(obj))
    throw new InputError(
      `${where()}: not a Kubernetes object`,
      undefined,
      "each document must be a mapping with kind and metadata",
    );
  const metadata = isObj(obj.metadata) ? obj.metadata : {};
  const name = typeof metadata.name === "string" ? metadata.name : "";
  const kind = String(obj.kind ?? "");
  if (!name)
    throw new InputError(
      `${where()}: ${kind || "object"} without metadata.name`,
      undefined,
      "give every object a name",
    );
  const namespace =
    typeof metadata.namespace === "string"
      ? metadata.namespace
      : kind.includes("Global") || kind.includes("Clusterwide")
        ? ""
        : defaultNamespace;
  const shape = shapeOf(obj, where);
  const labels = isObj(metadata.labels) ? metadata.labels : {};
  const annotations = isObj(metadata.annotations) ? metadata.annotations : {};
  const notes = {
    purpose: typeof labels[PURPOSE_LABEL] === "string" ? labels[PURPOSE_LABEL] : "",
    why: typeof annotations[DESCRIPTION_ANNOTATION] === "string" ? annotations[DESCRIPTION_ANNOTATION] : "",
  };
  ensureManagedLabel(doc);
  if (shape === "staged") {
    return [
      {
        ...notes,
        role: "staged",
        direction: "",
        wave: "observe",
        namespace,
        split: undefined,
        kind,
        name,
        text: docText(doc),
      },
    ];
  }
  const roleFor = (d: PolicyType): ObjectRole =>
    !shape.namespaceWide ? "allow" : shape.hasRules(d) ? "namespace-wide" : "default-deny";
  if (shape.directions.length === 0) {
    throw new InputError(
      `${where()}: ${kind} ${name} has no direction (no ingress or egress)`,
      undefined,
      "check the policy",
    );
  }
  const waveFor = (d: PolicyType): WaveKind =>
    d === "Egress" ? "deny-egress" : shape.namespaceWide ? "deny-ingress" : "allow";
  if (shape.directions.length === 1) {
    const d = shape.directions[0]!;
    return [
      {
        ...notes,
        role: roleFor(d),
        direction: d,
        wave: waveFor(d),
        namespace,
        split: undefined,
        kind,
        name,
        text: docText(doc),
      },
    ];
  }
  return shape.directions.map((d) => {
    const part = doc.clone();
    shape.keepOnly(part, d);
    const partName = suffixedName(name, d.toLowerCase());
    part.setIn(["metadata", "name"], partName);
    return {
      ...notes,
      role: roleFor(d),
      direction: d,
      wave: waveFor(d),
      namespace,
      split: d,
      kind,
      name: partName,
      text: docText(part),
    };
  });
}

function withMarkdownMarker(text: string): string {
  return text.startsWith(MANAGED_MARKDOWN_MARKER) ? text : `${MANAGED_MARKDOWN_MARKER}\n${text}`;
}

function stepKey(d: { wave: WaveKind; namespace: string }): string {
  return `${d.wave}\u0000${d.namespace}`;
}

/**
 * Places the files of a generated policy set into waves. Kustomization files are returned apart:
 * the rollout rewrites their resource lists for each step.
 */
export function placeFiles(files: readonly PolicyFile[]): { placed: PlacedFile[]; kustomizations: PolicyFile[] } {
  const placed: PlacedFile[] = [];
  const kustomizations: PolicyFile[] = [];
  const taken = new Set(files.map((f) => f.path));
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parsed: Array<{ file: PolicyFile; topNamespace: string; docs: number; single: boolean; parts: PlacedDoc[] }> =
    [];
  for (const file of sorted) {
    const topNamespace = file.path.includes("/") ? file.path.slice(0, file.path.indexOf("/")) : "";
    if (isKustomizationPath(file.path)) {
      kustomizations.push(file);
      continue;
    }
    if (/\.md$/i.test(file.path)) {
      placed.push({
        path: file.path,
        text: withMarkdownMarker(file.text),
        wave: "allow",
        namespace: topNamespace,
        objects: [],
      });
      continue;
    }
    if (!/\.ya?ml$/i.test(file.path)) {
      throw new InputError(
        `${file.path}: not YAML or Markdown`,
        undefined,
        "the policy folder may hold .yaml, .yml and .md files only",
      );
    }
    const docs = parseAllDocuments(file.text, { prettyErrors: false });
    if (!Array.isArray(docs)) throw new InputError(`${file.path}: not a YAML stream`, undefined, "check the file");
    const parts: PlacedDoc[] = [];
    docs.forEach((doc, i) => {
      const where = () => `${file.path} (document ${i + 1})`;
      if (doc.errors.length > 0)
        throw new InputError(`${where()}: ${doc.errors[0]!.message}`, undefined, "fix the YAML");
      if (doc.contents === null) return;
      parts.push(...placeDocument(doc, where, topNamespace));
    });
    if (parts.length > 0) {
      const docCount = docs.filter((d) => d.contents !== null).length;
      parsed.push({ file, topNamespace, docs: docCount, single: docs.length === 1, parts });
    }
  }
  const withIngressException = new Set(
    parsed.flatMap(({ parts }) =>
      parts.filter((p) => p.role === "namespace-wide" && p.direction === "Ingress").map((p) => p.namespace),
    ),
  );
  for (const { parts } of parsed) {
    for (const p of parts) {
      if (p.wave === "allow" && p.direction === "Ingress" && withIngressException.has(p.namespace)) {
        p.wave = "deny-ingress";
      }
    }
  }
  for (const { file, topNamespace, docs, single, parts } of parsed) {
    const groups = new Map<string, PlacedDoc[]>();
    for (const p of parts) {
      const group = groups.get(stepKey(p));
      if (group) group.push(p);
      else groups.set(stepKey(p), [p]);
    }
    const stem = file.path.replace(/\.ya?ml$/i, "");
    for (const group of groups.values()) {
      const first = group[0]!;
      let path = file.path;
      if (groups.size > 1) {
        const directions = new Set(group.map((g) => g.direction));
        const suffix = directions.size === 1 && first.direction ? first.direction.toLowerCase() : first.wave;
        path = `${stem}-${first.namespace && first.namespace !== topNamespace ? `${first.namespace}-` : ""}${suffix}.yaml`;
        if (taken.has(path)) {
          throw new InputError(
            `${file.path}: splitting it into waves would overwrite ${path}`,
            undefined,
            "rename one of the two files",
          );
        }
        taken.add(path);
      }
      const unchanged = groups.size === 1 && parts.length === docs && group.every((g) => !g.split);
      const text =
        unchanged && single ? reuseIfLabelled(file.text, group[0]!.text) : group.map((g) => g.text).join("---\n");
      placed.push({
        path,
        text,
        wave: first.wave,
        namespace: first.namespace,
        objects: group.map((g) => ({
          kind: g.kind,
          name: g.name,
          role: g.role,
          direction: g.direction,
          purpose: g.purpose,
          why: g.why,
        })),
      });
    }
  }
  return { placed, kustomizations };
}

/** Keeps the generator's bytes when the document needed no change. */
function reuseIfLabelled(original: string, rewritten: string): string {
  const docs = parseAllDocuments(original);
  if (!Array.isArray(docs) || docs.length !== 1) return rewritten;
  const doc = docs[0]!;
  return doc.getIn(["metadata", "labels", MANAGED_BY_LABEL]) === MANAGED_BY_VALUE ? original : rewritten;
}
