import type { Observed } from "../diff/observed.js";
import { diffObserved, type EdgeResult } from "../diff/observed-diff.js";
import type { NetworkPolicy } from "../policy/types.js";

/**
 * Every step of a rollout replayed: the repository's policies as they are after that step's
 * commit, judged against the store's observed connections by the one verdict (as `flowpol diff`
 * judges them). A step is safe when it denies no observed connection that the final state allows
 * and that the repository allowed before the rollout (what its existing policies already deny is
 * counted apart: the rollout did not break it). Pure.
 */
export interface WaveState {
  id: string;
  /** The NetworkPolicies in the repository after this step. */
  policies: readonly NetworkPolicy[];
}

export interface BrokenConnection {
  src: string;
  dst: string;
  protocol: string;
  port: number;
  flows: number;
}

export interface WaveReplay {
  id: string;
  /** Observed connections denied after this step. */
  denied: number;
  /** Of those, the ones the final state allows and the repository did not deny before: must be none. */
  broken: BrokenConnection[];
  /** Denied here, allowed by the final state, but already denied before the rollout. */
  denyingBefore: number;
}

const key = (r: EdgeResult) => `${r.edge.src.id}\u0000${r.edge.dst.id}\u0000${r.edge.protocol}\u0000${r.edge.port}`;

export function replayWaves(
  observed: Observed,
  before: readonly NetworkPolicy[],
  states: readonly WaveState[],
): WaveReplay[] {
  if (states.length === 0) return [];
  const deniedBy = (policies: readonly NetworkPolicy[]) =>
    diffObserved({ observed, policies }).edges.filter((r) => r.status === "denied");
  const finalDenied = new Set(deniedBy(states[states.length - 1]!.policies).map(key));
  const deniedBefore = new Set(deniedBy(before).map(key));
  return states.map((s) => {
    const denied = deniedBy(s.policies);
    const finalAllows = denied.filter((r) => !finalDenied.has(key(r)));
    const broken = finalAllows.filter((r) => !deniedBefore.has(key(r)));
    return {
      id: s.id,
      denied: denied.length,
      denyingBefore: finalAllows.length - broken.length,
      broken: broken.map((r) => ({
        src: r.edge.src.id,
        dst: r.edge.dst.id,
        protocol: r.edge.protocol,
        port: r.edge.port,
        flows: r.edge.flows,
      })),
    };
  });
}

function cell(s: string | number): string {
  return String(s).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** One line per wave ("wave 3.1: 0 observed connections denied that the final state allows"), then any it breaks. */
export function waveReplayMarkdown(waves: readonly WaveReplay[]): string {
  const lines = [
    "Each wave's commit replayed against the store's observed connections, as `flowpol diff` judges them:",
    "",
  ];
  for (const w of waves) {
    const also = w.denied - w.broken.length - w.denyingBefore;
    const notes = [
      ...(w.denyingBefore > 0
        ? [`${w.denyingBefore} already denied by the repository's policies before this rollout`]
        : []),
      ...(also > 0 ? [`${also} denied by the final state too: see below`] : []),
    ];
    lines.push(
      `- wave ${w.id}: ${w.broken.length} observed connection(s) denied that the final state allows${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`,
    );
  }
  const broken = waves.filter((w) => w.broken.length > 0);
  for (const w of broken) {
    lines.push(
      "",
      `**Wave ${w.id} would break traffic the final state allows:**`,
      "",
      "| from | to | port | flows |",
      "|---|---|---|---:|",
      ...w.broken.map((b) => `| ${cell(b.src)} | ${cell(b.dst)} | ${b.protocol}/${b.port} | ${b.flows} |`),
    );
  }
  return lines.join("\n");
}
