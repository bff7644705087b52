import { isProtocol } from "./conn-set.js";
import type { DirectionVerdict, Endpoint, PolicyEngine } from "./engine.js";
import type { RuleRef } from "./types.js";

/**
 * The one verdict on an observed connection, used by every command that judges traffic against
 * policies (generate's proof, diff, report, rollout's wave replay): allowed (some policy isolates
 * a side and every isolated side has a rule for it), denied (an isolated side has none), or
 * unprotected (no policy isolates either side).
 *
 * A side may stand for several label sets (the distinct label sets of a workload's pods): the
 * connection is allowed only if it is allowed for every source set towards every destination set,
 * and denied if any pair is denied. Pure.
 */
export type ConnectionStatus = "allowed" | "denied" | "unprotected";

export interface ObservedConnection {
  src: readonly Endpoint[];
  dst: readonly Endpoint[];
  protocol: string;
  port: number;
  /** From the destination pod's own node: Kubernetes always allows it, whatever the policies. */
  fromNode: boolean;
}

export interface ConnectionVerdictOf {
  status: ConnectionStatus;
  /** Isolated when any set on that side is; rules: every rule that matches for some pair. */
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  /** The sides that deny it for at least one pair: egress of the source, ingress of the destination. */
  deniedBy: Array<"egress" | "ingress">;
}

const UNKNOWN: readonly Endpoint[] = [{ kind: "unknown" }];

export function judgeConnection(engine: PolicyEngine, c: ObservedConnection): ConnectionVerdictOf {
  const srcs = c.src.length > 0 ? c.src : UNKNOWN;
  const dsts = c.dst.length > 0 ? c.dst : UNKNOWN;
  const egress: DirectionVerdict = { isolated: false, rules: [] };
  const ingress: DirectionVerdict = { isolated: false, rules: [] };
  let egressDenied = false;
  let ingressDenied = false;
  const seen = new Set<string>();
  const addRules = (into: RuleRef[], rules: readonly RuleRef[]) => {
    for (const r of rules) {
      const key = `${r.namespace}/${r.policy}/${r.direction}/${r.index}`;
      if (seen.has(key)) continue;
      seen.add(key);
      into.push(r);
    }
  };
  for (const s of srcs) {
    for (const d of dsts) {
      if (!isProtocol(c.protocol)) {
        // NetworkPolicy ports name TCP, UDP and SCTP only: other protocols pass where nothing isolates.
        const e = s.kind === "pod" && engine.selecting(s.pod).egress.length > 0;
        const i = d.kind === "pod" && engine.selecting(d.pod).ingress.length > 0;
        egress.isolated ||= e;
        ingress.isolated ||= i;
        egressDenied ||= e;
        ingressDenied ||= i && !c.fromNode;
        continue;
      }
      const v = engine.decide(s, d, c.protocol, c.port);
      egress.isolated ||= v.egress.isolated;
      ingress.isolated ||= v.ingress.isolated;
      addRules(egress.rules, v.egress.rules);
      addRules(ingress.rules, v.ingress.rules);
      if (v.egress.isolated && v.egress.rules.length === 0) egressDenied = true;
      if (v.ingress.isolated && v.ingress.rules.length === 0 && !c.fromNode) ingressDenied = true;
    }
  }
  const deniedBy: Array<"egress" | "ingress"> = [];
  if (egressDenied) deniedBy.push("egress");
  if (ingressDenied) deniedBy.push("ingress");
  const status: ConnectionStatus =
    deniedBy.length > 0 ? "denied" : egress.isolated || ingress.isolated ? "allowed" : "unprotected";
  return { status, egress, ingress, deniedBy };
}
