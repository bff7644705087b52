import { isLabelKey, isLabelValue } from "../../model/k8s-names.js";

/**
 * Calico label sets in every shape they come in: the flow-log object `{"labels": ["k=v", ...]}`,
 * Goldmane's bare list `["k=v", ...]`, Whisker's one string `"k=v | k2=v2"`, and a plain
 * `{k: v}` map (DNS logs, hand-written files). `null` means "labels not included".
 *
 * Entries split on the first `=`. Calico's own `projectcalico.org/` labels are dropped, and so is
 * any entry that is not valid Kubernetes label syntax (Calico passes some through, e.g. values
 * with spaces): label strings are untrusted and must never reach a selector unchecked.
 */
export function parseCalicoLabels(raw: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  const add = (key: string, value: string) => {
    if (key.startsWith("projectcalico.org/")) return;
    if (isLabelKey(key) && isLabelValue(value)) labels[key] = value;
  };
  const addEntry = (entry: unknown) => {
    if (typeof entry !== "string") return;
    const eq = entry.indexOf("=");
    if (eq <= 0) return;
    add(entry.slice(0, eq).trim(), entry.slice(eq + 1).trim());
  };
  if (Array.isArray(raw)) {
    for (const entry of raw) addEntry(entry);
  } else if (typeof raw === "string") {
    for (const entry of raw.split(" | ")) addEntry(entry);
  } else if (raw !== null && typeof raw === "object") {
    const obj = raw as Record<string, unknown>;
    if (Array.isArray(obj.labels)) {
      for (const entry of obj.labels) addEntry(entry);
    } else {
      for (const [key, value] of Object.entries(obj)) if (typeof value === "string") add(key, value);
    }
  }
  return labels;
}
