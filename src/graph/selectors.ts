import { IDENTITY_LABEL_KEYS } from "../model/labels.js";
import { cmp, type Selector } from "./dependency-graph.js";

/**
 * Stable selectors: for each workload, the smallest label set that selects all its pods and no
 * other workload's pods in its namespace, from labels that survive rollouts, restarts and CronJob
 * ticks. A selector always keeps the workload's identity label (`app`, `app.kubernetes.io/name`,
 * ...) when its pods share one, and adds discriminators to it: `version: v2` alone would also
 * select any later `v2` pod of another app.
 */

/** Label keys tried first, in this order; others follow in alphabetical order. */
export const PREFERRED_LABEL_KEYS: readonly string[] = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app",
  "k8s-app",
  "name",
  "app.kubernetes.io/component",
  "component",
];

const VOLATILE_KEYS = new Set([
  "pod-template-hash",
  "controller-revision-hash",
  "pod-template-generation",
  "statefulset.kubernetes.io/pod-name",
  "apps.kubernetes.io/pod-index",
  "job-name",
  "controller-uid",
  "security.istio.io/tlsMode",
  "service.istio.io/canonical-revision",
]);
const VOLATILE_PREFIXES = ["batch.kubernetes.io/", "topology.kubernetes.io/", "failure-domain.beta.kubernetes.io/"];

/** True for labels that change per rollout, run or placement: never used in a selector. */
export function isVolatileLabel(key: string): boolean {
  return VOLATILE_KEYS.has(key) || VOLATILE_PREFIXES.some((p) => key.startsWith(p));
}

/** Largest label set tried; beyond this a workload falls back. */
const MAX_SET_SIZE = 3;
/** Candidate keys considered (in preference order), to bound the search. */
const MAX_CANDIDATES = 12;

export interface SelectorSubject {
  id: string;
  podLabelSets: Array<Record<string, string>>;
}

/**
 * Chooses a selector for `subject` among `neighbours` (the other workloads of its namespace).
 * Fallback, when no exact set exists: every stable label the pods share (named in
 * `alsoSelects` with the workloads it over-matches), or no labels at all when there is none.
 */
export function chooseSelector(subject: SelectorSubject, neighbours: SelectorSubject[]): Selector {
  const common = commonStableLabels(subject.podLabelSets);
  const keys = Object.keys(common).sort(byPreference);
  if (keys.length === 0) {
    return {
      matchLabels: {},
      exact: false,
      alsoSelects: neighbours.map((n) => n.id).sort(),
      fallbackReason:
        subject.podLabelSets.length === 0
          ? "no pod of this workload was seen with labels"
          : "its pods share no stable label (add app.kubernetes.io/name to the pod template)",
    };
  }
  const identity = IDENTITY_LABEL_KEYS.filter((k) => k in common).slice(0, 1);
  const candidates = keys.filter((k) => !identity.includes(k)).slice(0, MAX_CANDIDATES);
  const extra = MAX_SET_SIZE - identity.length;
  for (let size = identity.length > 0 ? 0 : 1; size <= Math.min(extra, candidates.length); size++) {
    for (const combo of combinations(candidates, size)) {
      const labels = pick(common, [...identity, ...combo]);
      if (!neighbours.some((n) => n.podLabelSets.some((l) => matches(labels, l)))) {
        return { matchLabels: sortedLabels(labels), exact: true, alsoSelects: [] };
      }
    }
  }
  const alsoSelects = neighbours
    .filter((n) => n.podLabelSets.some((l) => matches(common, l)))
    .map((n) => n.id)
    .sort();
  return {
    matchLabels: sortedLabels(common),
    exact: alsoSelects.length === 0,
    alsoSelects,
    ...(alsoSelects.length > 0
      ? { fallbackReason: `no stable label set tells it apart from ${alsoSelects.join(", ")}` }
      : {}),
  };
}

export function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

function commonStableLabels(sets: Array<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = sets;
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) {
    if (isVolatileLabel(k)) continue;
    if (rest.every((s) => s[k] === v)) out[k] = v;
  }
  return out;
}

function byPreference(a: string, b: string): number {
  const ia = PREFERRED_LABEL_KEYS.indexOf(a);
  const ib = PREFERRED_LABEL_KEYS.indexOf(b);
  if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
  return cmp(a, b);
}

function* combinations<T>(items: T[], size: number, start = 0, acc: T[] = []): Generator<T[]> {
  if (acc.length === size) {
    yield acc;
    return;
  }
  for (let i = start; i < items.length; i++) yield* combinations(items, size, i + 1, [...acc, items[i] as T]);
}

function pick(labels: Record<string, string>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = labels[k] as string;
  return out;
}

export function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort(cmp)) out[k] = labels[k] as string;
  return out;
}
