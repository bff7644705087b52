import { Document, isPair, isScalar, isSeq, visit } from "yaml";

/**
 * Deterministic YAML for Kubernetes objects: top-level keys in the order apiVersion, kind,
 * metadata, spec, then the rest; every nested key sorted; list order kept (the caller sorts);
 * no line folding. `comments` puts a line comment beside matching scalar values (the DNS names
 * beside an ipBlock CIDR).
 */

const TOP_LEVEL = ["apiVersion", "kind", "metadata", "spec"];

export function toYaml(object: Record<string, unknown>, comments: ReadonlyMap<string, string> = new Map()): string {
  const doc = new Document(orderTopLevel(object), { version: "1.2" });
  if (comments.size > 0) {
    visit(doc, {
      Scalar(_key, node, path) {
        const parent = path.at(-1);
        const inCidr = isPair(parent) && isScalar(parent.key) && parent.key.value === "cidr";
        const grand = path.at(-2);
        const inCidrList =
          isSeq(parent) && isPair(grand) && isScalar(grand.key) && /CIDR$/.test(String(grand.key.value));
        if (!inCidr && !inCidrList) return;
        const comment = comments.get(String(node.value));
        if (comment) node.comment = ` ${comment}`;
      },
    });
  }
  return doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true });
}

/** Several objects as one multi-document YAML stream. */
export function toYamlStream(objects: Array<Record<string, unknown>>): string {
  return objects.map((o) => toYaml(o)).join("---\n");
}

function orderTopLevel(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of TOP_LEVEL) if (k in object) out[k] = sortDeep(object[k]);
  for (const k of Object.keys(object).sort()) if (!(k in out)) out[k] = sortDeep(object[k]);
  return out;
}

export function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortDeep(v);
    }
    return out;
  }
  return value;
}
