import { Document, parseDocument } from "yaml";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../model/labels.js";

/**
 * A kustomization.yaml listing exactly `resources`, keeping every other field of `template` (the
 * generator's or the one already in the repository) and carrying flowpol's label as a kustomize
 * `labels` transformer.
 */
export function kustomizationText(template: string | undefined, resources: readonly string[]): string {
  const doc = template ? parseDocument(template) : new Document({});
  if (doc.errors.length > 0 || typeof doc.toJS() !== "object" || doc.toJS() === null)
    return kustomizationText(undefined, resources);
  if (!doc.has("apiVersion")) doc.set("apiVersion", "kustomize.config.k8s.io/v1beta1");
  if (!doc.has("kind")) doc.set("kind", "Kustomization");
  const labels = doc.toJS().labels as unknown;
  const labelled =
    Array.isArray(labels) &&
    labels.some((l) => (l as { pairs?: Record<string, unknown> })?.pairs?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE);
  if (!labelled)
    doc.set("labels", [...(Array.isArray(labels) ? labels : []), { pairs: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } }]);
  doc.set("resources", [...resources].sort());
  const text = doc.toString({ lineWidth: 0 });
  return text.endsWith("\n") ? text : `${text}\n`;
}
