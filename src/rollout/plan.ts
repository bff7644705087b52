import { UsageError } from "../errors.js";
import { type PlacedFile, WAVE_NUMBERS, type WaveKind } from "./policy-set.js";

/** What the store says about a namespace, for ordering the deny steps. */
export interface NamespaceFacts {
  /** Days between the first and the last flow seen in the namespace. */
  observedDays: number;
  flows: number;
  /** Distinct workloads and peers that send traffic into the namespace. */
  ingressPeers: number;
  /** Distinct external (non-cluster) destinations the namespace calls. */
  externalDestinations: number;
  callsApiServer: boolean;
}

/** One commit of the rollout. */
export interface RolloutStep {
  /** "1", "2", "3.1", "3.2", "4.1", ... */
  id: string;
  wave: 1 | 2 | 3 | 4;
  kind: WaveKind;
  /** The namespace of a deny step; "" otherwise (and for cluster-scoped objects). */
  namespace: string;
  title: string;
  files: PlacedFile[];
  /** Managed files of this step to delete (flows no longer observed). */
  removals: string[];
}

export interface PlanOptions {
  waveOrder?: readonly string[] | undefined;
  egressOrder?: readonly string[] | undefined;
  facts?: ReadonlyMap<string, NamespaceFacts> | undefined;
}

const NO_FACTS: NamespaceFacts = {
  observedDays: 0,
  flows: 0,
  ingressPeers: 0,
  externalDestinations: 0,
  callsApiServer: false,
};

/** Best observed first (most whole days observed), then least risky (fewest callers), then most flows. */
function ingressOrder(facts: ReadonlyMap<string, NamespaceFacts>) {
  return (a: string, b: string): number => {
    const fa = facts.get(a) ?? NO_FACTS;
    const fb = facts.get(b) ?? NO_FACTS;
    return (
      Math.floor(fb.observedDays) - Math.floor(fa.observedDays) ||
      fa.ingressPeers - fb.ingressPeers ||
      fb.flows - fa.flows ||
      cmp(a, b)
    );
  };
}

/** Sensitive first: the most external destinations (exfiltration paths), then API server callers. */
function egressOrder(facts: ReadonlyMap<string, NamespaceFacts>) {
  return (a: string, b: string): number => {
    const fa = facts.get(a) ?? NO_FACTS;
    const fb = facts.get(b) ?? NO_FACTS;
    return (
      fb.externalDestinations - fa.externalDestinations ||
      Number(fb.callsApiServer) - Number(fa.callsApiServer) ||
      cmp(a, b)
    );
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ordered(
  namespaces: string[],
  explicit: readonly string[] | undefined,
  flag: string,
  fallback: (a: string, b: string) => number,
): string[] {
  const rest = [...namespaces].sort(fallback);
  if (!explicit) return rest;
  const known = new Set(namespaces);
  for (const ns of explicit) {
    if (!known.has(ns)) {
      throw new UsageError(
        `${flag} names ${ns}, which has no policies in this rollout`,
        `use namespaces from the policy set: ${[...known].sort().join(", ") || "(none)"}`,
      );
    }
  }
  const seen = new Set(explicit);
  return [...explicit, ...rest.filter((ns) => !seen.has(ns))];
}

function label(ns: string): string {
  return ns || "cluster-scoped objects";
}

/** Cuts the placed files into steps: observe, allow, deny ingress per namespace, deny egress per namespace. */
export function planSteps(
  files: readonly PlacedFile[],
  removals: readonly PlacedFile[],
  options: PlanOptions = {},
): RolloutStep[] {
  const facts = options.facts ?? new Map<string, NamespaceFacts>();
  const byWave = (kind: WaveKind, list: readonly PlacedFile[]) => list.filter((f) => f.wave === kind);
  const steps: RolloutStep[] = [
    {
      id: "1",
      wave: 1,
      kind: "observe",
      namespace: "",
      title: "observe: the report, the plan and non-enforcing policies",
      files: byWave("observe", files),
      removals: byWave("observe", removals).map((f) => f.path),
    },
    {
      id: "2",
      wave: 2,
      kind: "allow",
      namespace: "",
      title: "allow: the observed flows into selected workloads",
      files: byWave("allow", files),
      removals: byWave("allow", removals).map((f) => f.path),
    },
  ];
  for (const kind of ["deny-ingress", "deny-egress"] as const) {
    const wave = WAVE_NUMBERS[kind];
    const namespaces = [...new Set([...byWave(kind, files), ...byWave(kind, removals)].map((f) => f.namespace))];
    const order =
      kind === "deny-ingress"
        ? ordered(namespaces, options.waveOrder, "--wave-order", ingressOrder(facts))
        : ordered(namespaces, options.egressOrder, "--egress-order", egressOrder(facts));
    order.forEach((ns, i) => {
      const stepFiles = byWave(kind, files).filter((f) => f.namespace === ns);
      // An ingress allow waits here when its namespace has a namespace-wide ingress exception.
      const withAllows = stepFiles.some((f) => f.objects.some((o) => o.role === "allow"));
      steps.push({
        id: `${wave}.${i + 1}`,
        wave,
        kind,
        namespace: ns,
        title:
          kind === "deny-ingress"
            ? `deny ingress in ${label(ns)}: ${withAllows ? "ingress allows, " : ""}default-deny and namespace-wide exceptions`
            : `deny egress in ${label(ns)}: egress allows, DNS and default-deny`,
        files: stepFiles,
        removals: byWave(kind, removals)
          .filter((f) => f.namespace === ns)
          .map((f) => f.path),
      });
    });
  }
  return steps.filter((s) => s.kind === "observe" || s.files.length > 0 || s.removals.length > 0);
}
