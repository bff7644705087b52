import { asInteger, asObject, asString, field, type Json } from "./json.js";

/**
 * Calico policy traces to flowpol's canonical provenance strings, one per policy hit:
 *
 *     <trace>|<tier>|<Kind>:<namespace>/<name>|<action>|<rule>      (namespaced kinds)
 *     <trace>|<tier>|<Kind>:<name>|<action>|<rule>                  (cluster-scoped kinds)
 *
 * `trace` is `enforced` (what decided the flow), `pending` (as if staged policies were enforced),
 * `transit` (host-endpoint forward/preDNAT) or `all` (the deprecated mixed list, kept only when a
 * record has no enforced list). `Kind` uses Goldmane's PolicyKind names, so flow-log files and
 * Goldmane give the same strings. `rule` is the rule index, `-1` for "no rule matched" (end of
 * tier) and `-` when a 4-part entry did not say. The hit's position in the trace is dropped: an
 * edge's provenance counts connections per policy rule.
 */

export type PolicyKind =
  | "CalicoNetworkPolicy"
  | "GlobalNetworkPolicy"
  | "StagedNetworkPolicy"
  | "StagedGlobalNetworkPolicy"
  | "StagedKubernetesNetworkPolicy"
  | "NetworkPolicy"
  | "AdminNetworkPolicy"
  | "BaselineAdminNetworkPolicy"
  | "Profile"
  | "EndOfTier"
  | "ClusterNetworkPolicy"
  | "Unknown";

/** Goldmane's `PolicyKind` enum, by number. */
export const POLICY_KIND_BY_NUMBER: readonly PolicyKind[] = [
  "Unknown",
  "CalicoNetworkPolicy",
  "GlobalNetworkPolicy",
  "StagedNetworkPolicy",
  "StagedGlobalNetworkPolicy",
  "StagedKubernetesNetworkPolicy",
  "NetworkPolicy",
  "AdminNetworkPolicy",
  "BaselineAdminNetworkPolicy",
  "Profile",
  "EndOfTier",
  "ClusterNetworkPolicy",
];
const KNOWN_KINDS = new Set<string>(POLICY_KIND_BY_NUMBER);

/** Felix ≥ 3.32 short kinds (`np:prod/allow-frontend`). */
const SHORT_KINDS: Record<string, PolicyKind> = {
  np: "CalicoNetworkPolicy",
  gnp: "GlobalNetworkPolicy",
  snp: "StagedNetworkPolicy",
  sgnp: "StagedGlobalNetworkPolicy",
  sknp: "StagedKubernetesNetworkPolicy",
  knp: "NetworkPolicy",
  kcnp: "ClusterNetworkPolicy",
  pro: "Profile",
  eot: "EndOfTier",
};
const SHORT_FORM = /^(np|gnp|snp|sgnp|sknp|knp|kcnp|pro|eot):(.+)$/;
const ACTIONS = ["", "allow", "deny", "pass"];
/** Characters of tiers, namespaces and policy names; anything else is not a policy trace. */
const SAFE_PART = /^[A-Za-z0-9_.:*-]{1,253}$/;

export interface PolicyHit {
  trace: string;
  tier: string;
  kind: PolicyKind;
  namespace: string;
  name: string;
  action: string;
  rule: string;
}

export function formatPolicyHit(hit: PolicyHit): string {
  const ref = hit.namespace ? `${hit.namespace}/${hit.name}` : hit.name;
  return `${hit.trace}|${hit.tier}|${hit.kind}:${ref}|${hit.action}|${hit.rule}`;
}

function isSafe(hit: PolicyHit): boolean {
  return (
    SAFE_PART.test(hit.tier) &&
    SAFE_PART.test(hit.name) &&
    (hit.namespace === "" || SAFE_PART.test(hit.namespace)) &&
    /^(allow|deny|pass|unknown)$/.test(hit.action) &&
    /^(-|-?\d{1,6})$/.test(hit.rule)
  );
}

/** One flow-log entry, `<index>|<tier>|<name part>|<action>[|<rule>]`; undefined if unreadable. */
export function parseFlowLogPolicy(trace: string, entry: string): PolicyHit | undefined {
  const parts = entry.split("|");
  if (parts.length !== 4 && parts.length !== 5) return undefined;
  const [, tier = "", namePart = "", action = "", rule = "-"] = parts;
  const hit: PolicyHit = { trace, tier, action: action.toLowerCase(), rule, ...nameOf(tier, namePart) };
  return isSafe(hit) ? hit : undefined;
}

function nameOf(tier: string, namePart: string): { kind: PolicyKind; namespace: string; name: string } {
  const short = SHORT_FORM.exec(namePart);
  if (short) {
    const kind = SHORT_KINDS[short[1] as string] ?? "Unknown";
    const ref = short[2] as string;
    const slash = ref.indexOf("/");
    return slash === -1
      ? { kind, namespace: "", name: ref }
      : { kind, namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
  }
  if (tier === "__PROFILE__" || namePart.startsWith("__PROFILE__.")) {
    return { kind: "Profile", namespace: "", name: namePart.replace(/^__PROFILE__\./, "") };
  }
  const slash = namePart.indexOf("/");
  const namespace = slash === -1 ? "" : namePart.slice(0, slash);
  let rest = slash === -1 ? namePart : namePart.slice(slash + 1);
  const staged = rest.includes("staged:");
  rest = rest.replace("staged:", "");
  if (rest.startsWith("knp.default.")) {
    return {
      kind: staged ? "StagedKubernetesNetworkPolicy" : "NetworkPolicy",
      namespace,
      name: rest.slice("knp.default.".length),
    };
  }
  if (rest.startsWith("kanp.")) return { kind: "AdminNetworkPolicy", namespace: "", name: rest.slice(5) };
  if (rest.startsWith("kbanp.")) return { kind: "BaselineAdminNetworkPolicy", namespace: "", name: rest.slice(6) };
  const name = rest.startsWith(`${tier}.`) ? rest.slice(tier.length + 1) : rest;
  if (namespace) return { kind: staged ? "StagedNetworkPolicy" : "CalicoNetworkPolicy", namespace, name };
  return { kind: staged ? "StagedGlobalNetworkPolicy" : "GlobalNetworkPolicy", namespace: "", name };
}

const FLOW_LOG_TRACES: Array<[string, string]> = [
  ["enforced_policies", "enforced"],
  ["pending_policies", "pending"],
  ["transit_policies", "transit"],
];

/**
 * The flow-log `policies` field in all its shapes: `{"all_policies": [...]}` (early EE, 4-part
 * entries), `all_policies` + `enforced_policies` + `pending_policies` (+ `transit_policies`), and
 * the later form without `all_policies`. Returns sorted canonical strings.
 */
export function flowLogPolicies(raw: unknown): string[] {
  const obj = asObject(raw);
  if (!obj) return [];
  const out = new Set<string>();
  const addList = (list: unknown, trace: string) => {
    if (!Array.isArray(list)) return;
    for (const entry of list) {
      const hit = typeof entry === "string" ? parseFlowLogPolicy(trace, entry) : undefined;
      if (hit) out.add(formatPolicyHit(hit));
    }
  };
  for (const [key, trace] of FLOW_LOG_TRACES) addList(obj[key], trace);
  if (!Array.isArray(obj.enforced_policies)) addList(obj.all_policies, "all");
  return [...out].sort();
}

function policyKind(v: unknown): PolicyKind {
  if (typeof v === "number") return POLICY_KIND_BY_NUMBER[v] ?? "Unknown";
  if (typeof v === "string") return KNOWN_KINDS.has(v) ? (v as PolicyKind) : "Unknown";
  return "Unknown";
}

function actionName(v: unknown): string {
  if (typeof v === "number") return ACTIONS[v] || "unknown";
  if (typeof v === "string" && v !== "") return v.toLowerCase();
  return "unknown";
}

/** One Goldmane `PolicyHit` (protobuf-JSON, Go JSON, Whisker JSON or a generated message). */
export function goldmanePolicyHit(trace: string, raw: unknown): PolicyHit | undefined {
  const obj = asObject(raw);
  if (!obj) return undefined;
  const kind = policyKind(obj.kind);
  let namespace = asString(obj.namespace) ?? "";
  let name = asString(obj.name) ?? "";
  const trigger = asObject(obj.trigger);
  if (kind === "EndOfTier" && !name && trigger) {
    namespace = asString(trigger.namespace) ?? "";
    name = asString(trigger.name) ?? "";
  }
  const rule = asInteger(field(obj, "rule_index", "ruleIndex")) ?? 0;
  const hit: PolicyHit = {
    trace,
    tier: asString(obj.tier) || "-",
    kind,
    namespace,
    name: name || "-",
    action: actionName(obj.action),
    rule: String(rule),
  };
  return isSafe(hit) ? hit : undefined;
}

/**
 * Goldmane's `PolicyTrace` (`enforced_policies`/`enforcedPolicies`, `pending_policies`/
 * `pendingPolicies`) or Whisker's (`enforced`, `pending`). Returns sorted canonical strings.
 */
export function goldmanePolicies(raw: unknown): string[] {
  const obj: Json | undefined = asObject(raw);
  if (!obj) return [];
  const out = new Set<string>();
  const lists: Array<[unknown, string]> = [
    [field(obj, "enforced_policies", "enforcedPolicies") ?? obj.enforced, "enforced"],
    [field(obj, "pending_policies", "pendingPolicies") ?? obj.pending, "pending"],
  ];
  for (const [list, trace] of lists) {
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const hit = goldmanePolicyHit(trace, entry);
      if (hit) out.add(formatPolicyHit(hit));
    }
  }
  return [...out].sort();
}
