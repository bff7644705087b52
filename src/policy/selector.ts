import type { LabelSelector, Labels } from "./types.js";

/** A compiled label selector: a predicate over a label set. */
export type LabelMatcher = (labels: Labels) => boolean;

export const MATCH_ALL: LabelMatcher = () => true;

/**
 * Compiles a LabelSelector with Kubernetes semantics: matchLabels and matchExpressions are ANDed;
 * an empty selector matches everything. NotIn and DoesNotExist match labels that are absent.
 */
export function compileSelector(selector: LabelSelector): LabelMatcher {
  const tests: LabelMatcher[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    tests.push((labels) => labels[key] === value);
  }
  for (const req of selector.matchExpressions ?? []) {
    const { key } = req;
    const values = new Set(req.values ?? []);
    switch (req.operator) {
      case "In":
        tests.push((labels) => labels[key] !== undefined && values.has(labels[key]));
        break;
      case "NotIn":
        tests.push((labels) => labels[key] === undefined || !values.has(labels[key]));
        break;
      case "Exists":
        tests.push((labels) => labels[key] !== undefined);
        break;
      case "DoesNotExist":
        tests.push((labels) => labels[key] === undefined);
        break;
    }
  }
  if (tests.length === 0) return MATCH_ALL;
  if (tests.length === 1) return tests[0]!;
  return (labels) => tests.every((t) => t(labels));
}

export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  return (
    selector !== undefined &&
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  );
}

/** `app=web,tier in (a,b)`: the kubectl notation, for messages. */
export function selectorToString(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions ?? []) {
    const vals = `(${(r.values ?? []).join(",")})`;
    if (r.operator === "In") parts.push(`${r.key} in ${vals}`);
    else if (r.operator === "NotIn") parts.push(`${r.key} notin ${vals}`);
    else if (r.operator === "Exists") parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.length === 0 ? "{}" : parts.join(",");
}
