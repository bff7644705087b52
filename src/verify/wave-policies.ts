import { parseAllDocuments } from "yaml";
import { InputError } from "../errors.js";
import { compileSelector, type LabelMatcher } from "../policy/selector.js";
import type { LabelSelector } from "../policy/types.js";

/** A policy of the wave under verification, reduced to what matching a dropped flow needs. */
export interface WavePolicy {
  file: string;
  kind: string;
  name: string;
  namespace: string;
  ingress: boolean;
  egress: boolean;
  /** The pods it selects (the policy engine's selector); undefined: every pod of its namespace (or a selector flowpol cannot read). */
  selects: LabelMatcher | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function directions(spec: Obj, typesKey: "policyTypes" | "types"): { ingress: boolean; egress: boolean } {
  const declared = spec[typesKey];
  if (Array.isArray(declared)) return { ingress: declared.includes("Ingress"), egress: declared.includes("Egress") };
  return { ingress: true, egress: spec.egress !== undefined };
}

/** Reads the policies of a wave from YAML texts; kustomization files and other kinds are skipped. */
export function readWavePolicies(files: ReadonlyArray<{ path: string; text: string }>): WavePolicy[] {
  const out: WavePolicy[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(file.text);
    if (!Array.isArray(docs)) continue;
    docs.forEach((doc, i) => {
      if (doc.errors.length > 0) {
        throw new InputError(
          doc.errors[0]!.message,
          { file: file.path, document: i + 1 },
          "fix the YAML of the wave's policies",
        );
      }
      const items: unknown[] = [];
      const value = doc.toJS() as unknown;
      if (isObj(value) && typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
        items.push(...value.items);
      } else items.push(value);
      for (const obj of items) {
        if (!isObj(obj)) continue;
        const kind = String(obj.kind ?? "");
        const meta = isObj(obj.metadata) ? obj.metadata : {};
        const spec = isObj(obj.spec) ? obj.spec : {};
        const base = { file: file.path, kind, name: String(meta.name ?? ""), namespace: String(meta.namespace ?? "") };
        if (kind === "NetworkPolicy" && String(obj.apiVersion ?? "").startsWith("networking.k8s.io/")) {
          out.push({
            ...base,
            ...directions(spec, "policyTypes"),
            selects: compileSelector((spec.podSelector as LabelSelector) ?? {}),
          });
        } else if (
          kind.startsWith("Staged") ||
          (kind.endsWith("NetworkPolicy") && String(obj.apiVersion ?? "").startsWith("projectcalico.org/"))
        ) {
          out.push({ ...base, ...directions(spec, "types"), selects: undefined });
        } else if (kind === "CiliumNetworkPolicy" || kind === "CiliumClusterwideNetworkPolicy") {
          out.push({
            ...base,
            ingress: spec.ingress !== undefined || spec.ingressDeny !== undefined,
            egress: spec.egress !== undefined || spec.egressDeny !== undefined,
            selects: compileSelector((spec.endpointSelector as LabelSelector) ?? {}),
          });
        }
      }
    });
  }
  return out;
}
