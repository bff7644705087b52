import { parseAllDocuments } from "yaml";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, MANAGED_MARKDOWN_MARKER } from "../model/labels.js";

function hasManagedLabel(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const o = value as Record<string, unknown>;
  const metadata = o.metadata as Record<string, unknown> | undefined;
  const labels = metadata?.labels as Record<string, unknown> | undefined;
  if (labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) return true;
  // A Kustomization carries the label as a kustomize `labels` transformer.
  if (o.kind === "Kustomization" && Array.isArray(o.labels)) {
    return o.labels.some(
      (l) =>
        typeof l === "object" &&
        l !== null &&
        (l as { pairs?: Record<string, unknown> }).pairs?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE,
    );
  }
  return false;
}

/**
 * Whether flowpol manages a file in the user's repository: every YAML document carries
 * `app.kubernetes.io/managed-by: flowpol`, or a Markdown file starts with flowpol's marker.
 * Anything else (unparsable YAML included) belongs to the user and is never touched.
 */
export function isManagedFile(path: string, text: string): boolean {
  if (/\.md$/i.test(path)) return text.startsWith(MANAGED_MARKDOWN_MARKER);
  if (!/\.ya?ml$/i.test(path)) return false;
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return false;
  const objects = docs.filter((d) => d.contents !== null);
  if (objects.length === 0 || objects.some((d) => d.errors.length > 0)) return false;
  return objects.every((d) => hasManagedLabel(d.toJS()));
}
