import { ConnSet } from "./conn-set.js";
import { compareText, connTable, externalId, ipBlockRanges } from "./connlist.js";
import type { Semantics } from "./engine.js";
import { INGRESS_CONTROLLER_ID } from "./ingress-controller.js";
import type { IpRange } from "./ip-range.js";
import type { Topology } from "./objects.js";

/**
 * The semantic connectivity change between two topologies (netpol-analyzer `diff`): both sides
 * are evaluated over one common cut of the external IP space, then compared pair by pair; for
 * each workload, neighbouring external atoms with the same change merge into one range.
 */
export type DiffType = "changed" | "added" | "removed";

export interface DiffLine {
  type: DiffType;
  src: string;
  dst: string;
  ref1: ConnSet;
  ref2: ConnSet;
  /** `workload X added`, `workload X and Y removed`, or "" when both workloads exist on both sides. */
  workloadsInfo: string;
}

const ORDER: Record<DiffType, number> = { changed: 0, added: 1, removed: 2 };

export function semanticDiff(topo1: Topology, topo2: Topology, options: { semantics?: Semantics } = {}): DiffLine[] {
  const semantics = options.semantics ?? "analyzer";
  const t1 = connTable(topo1, {
    semantics,
    extraIngressRanges: ipBlockRanges(topo2.policies, "ingress"),
    extraEgressRanges: ipBlockRanges(topo2.policies, "egress"),
  });
  const t2 = connTable(topo2, {
    semantics,
    extraIngressRanges: ipBlockRanges(topo1.policies, "ingress"),
    extraEgressRanges: ipBlockRanges(topo1.policies, "egress"),
  });
  const ids1 = new Set(t1.workloadIds);
  const ids2 = new Set(t2.workloadIds);
  const pairs: Array<{ src: string; dst: string; ref1: ConnSet; ref2: ConnSet }> = [];
  const internalKeys = new Set([...t1.internal.keys(), ...t2.internal.keys()]);
  for (const key of internalKeys) {
    const [src, dst] = key.split("\u0000") as [string, string];
    pairs.push({ src, dst, ref1: t1.internal.get(key) ?? ConnSet.NONE, ref2: t2.internal.get(key) ?? ConnSet.NONE });
  }
  for (const id of new Set([...ids1, ...ids2])) {
    for (const dir of ["egress", "ingress"] as const) {
      const atoms = dir === "egress" ? t1.egressAtoms : t1.ingressAtoms;
      const none = atoms.map(() => ConnSet.NONE);
      const key = dir === "egress" ? "egressToAtoms" : "ingressFromAtoms";
      const a1 = t1[key].get(id) ?? none;
      const a2 = t2[key].get(id) ?? none;
      const both = a1.map((c, i): [ConnSet, ConnSet] => [c, a2[i]!]);
      for (const run of mergeRuns(atoms, both, (a, b) => a[0].equals(b[0]) && a[1].equals(b[1]))) {
        const ext = externalId(run.range);
        const [ref1, ref2] = run.value;
        pairs.push(dir === "egress" ? { src: id, dst: ext, ref1, ref2 } : { src: ext, dst: id, ref1, ref2 });
      }
    }
  }
  const fromController = (t: typeof t1) => new Map(t.fromIngressController.map((c) => [c.dst, c.conns]));
  const c1 = fromController(t1);
  const c2 = fromController(t2);
  for (const dst of new Set([...c1.keys(), ...c2.keys()])) {
    pairs.push({
      src: INGRESS_CONTROLLER_ID,
      dst,
      ref1: c1.get(dst) ?? ConnSet.NONE,
      ref2: c2.get(dst) ?? ConnSet.NONE,
    });
  }
  const out: DiffLine[] = [];
  for (const p of pairs) {
    if (p.ref1.equals(p.ref2)) continue;
    const type: DiffType = p.ref1.isEmpty() ? "added" : p.ref2.isEmpty() ? "removed" : "changed";
    out.push({ ...p, type, workloadsInfo: workloadsInfo(p.src, p.dst, ids1, ids2) });
  }
  // The analyzer lists the ingress controller's changes after all the others.
  const group = (l: DiffLine) => (l.src === INGRESS_CONTROLLER_ID ? 1 : 0);
  return out.sort(
    (a, b) =>
      group(a) - group(b) || ORDER[a.type] - ORDER[b.type] || compareText(a.src, b.src) || compareText(a.dst, b.dst),
  );
}

function workloadsInfo(src: string, dst: string, ids1: Set<string>, ids2: Set<string>): string {
  for (const [change, here, there] of [
    ["added", ids2, ids1],
    ["removed", ids1, ids2],
  ] as const) {
    const only = [src, dst].filter((id) => here.has(id) && !there.has(id));
    if (only.length === 1) return `workload ${only[0]} ${change}`;
    if (only.length === 2) return `workload ${only[0]} and ${only[1]} ${change}`;
  }
  return "";
}

/** Runs of neighbouring atoms whose values are equal (by `same`), as merged ranges. */
function mergeRuns<T>(atoms: readonly IpRange[], values: readonly T[], same: (a: T, b: T) => boolean) {
  const runs: Array<{ range: IpRange; value: T }> = [];
  atoms.forEach((atom, i) => {
    const value = values[i]!;
    const last = runs[runs.length - 1];
    if (last && last.range.family === atom.family && last.range.end + 1n === atom.start && same(last.value, value)) {
      last.range = { family: atom.family, start: last.range.start, end: atom.end };
    } else {
      runs.push({ range: atom, value });
    }
  });
  return runs;
}
