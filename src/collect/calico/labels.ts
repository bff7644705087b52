import { isLabelKey, isLabelValue } from "../../model/k8s-names.js";
import { shownValue } from "./fields.js";

/**
 * Calico label sets in every shape they come in: the flow-log object `{"labels": ["k=v", ...]}`,
 * Goldmane's bare list `["k=v", ...]`, Whisker's one string `"k=v | k2=v2"`, and a plain
 * `{k: v}` map (DNS logs, hand-written files). `null` means "labels not included".
 *
 * Entries split on the first `=`. Calico's own `projectcalico.org/` labels are dropped, and so is
 * any entry that is not valid Kubernetes label syntax (Calico passes some through, e.g. values
 * with spaces): label strings are untrusted and must never reach a selector unchecked.
 */
export function parseCalicoLabels(raw: unknown, dropped?: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  const add = (key: string, value: string) => {
    if (key.startsWith("projectcalico.org/")) return;
    if (isLabelKey(key) && isLabelValue(value)) labels[key] = value;
    else dropped?.push(shownValue(`${key}=${value}`));
  };
  const addEntry = (entry: unknown) => {
    const eq = typeof entry === "string" ? entry.indexOf("=") : -1;
    if (typeof entry !== "string" || eq <= 0) {
      dropped?.push(shownValue(entry));
      return;
    }
    add(entry.slice(0, eq).trim(), entry.slice(eq + 1).trim());
  };
  if (Array.isArray(raw)) {
    for (const entry of raw) addEntry(entry);
  } else if (typeof raw === "string") {
    if (raw !== "" && raw !== "-") for (const entry of raw.split(" | ")) addEntry(entry);
  } else if (raw !== null && typeof raw === "object") {
    const obj = raw as Record<string, unknown>;
    if (Array.isArray(obj.labels)) {
      for (const entry of obj.labels) addEntry(entry);
    } else if (obj.labels === null && Object.keys(obj).length === 1) {
      return labels;
    } else {
      for (const [key, value] of Object.entries(obj)) {
        if (typeof value === "string") add(key, value);
        else dropped?.push(shownValue(`${key}=${shownValue(value)}`));
      }
    }
  } else if (raw !== undefined && raw !== null) {
    dropped?.push(shownValue(raw));
  }
  return labels;
}
