/**
 * The policy set a rollout writes: generated files by path relative to the set's root (posix
 * separators), as `flowpol generate --out DIR` lays them out: `<namespace>/<policy>.yaml`,
 * `<namespace>/kustomization.yaml`, `<namespace>/EVIDENCE.md`.
 */
export interface PolicyFile {
  path: string;
  text: string;
}

/** The four waves of a rollout, in order. */
export type WaveKind = "observe" | "allow" | "deny-ingress" | "deny-egress";
export const WAVE_NUMBERS: Record<WaveKind, 1 | 2 | 3 | 4> = {
  observe: 1,
  allow: 2,
  "deny-ingress": 3,
  "deny-egress": 4,
};

/** One file placed in a wave. `namespace` is "" for cluster-scoped objects and top-level files. */
export interface PlacedFile {
  path: string;
  text: string;
  wave: WaveKind;
  namespace: string;
  /** The kinds and names of the objects in the file, for the plan. */
  objects: PlacedObject[];
}

/** default-deny: selects every pod and allows nothing; namespace-wide: selects every pod and allows some peers. */
export type ObjectRole = "staged" | "allow" | "namespace-wide" | "default-deny";

export interface PlacedObject {
  kind: string;
  name: string;
  role: ObjectRole;
  direction: "Ingress" | "Egress" | "both" | "";
  /** The generator's `flowpol.io/purpose` label (default-deny, dns, shared, flow), when present. */
  purpose: string;
  /** The generator's `flowpol.io/description` annotation: why the object exists. */
  why: string;
}
