import type { TranslatedPolicy } from "./cilium-policy.js";
import { parseNetworkPolicy } from "./validate.js";

/**
 * Calico's StagedKubernetesNetworkPolicy (projectcalico.org/v3) to the engine's NetworkPolicy.
 * Its spec is a NetworkPolicy's plus `stagedAction`: `Set` (the default) is judged as if it were
 * enforced, which is what staging is for; `Delete` (stage the removal of a policy) is refused.
 */
export function translateStagedPolicy(value: Record<string, unknown>): TranslatedPolicy {
  const spec = typeof value.spec === "object" && value.spec !== null ? (value.spec as Record<string, unknown>) : {};
  const { stagedAction, ...k8sSpec } = spec;
  if (stagedAction !== undefined && stagedAction !== "Set") {
    return {
      policy: undefined,
      issues: [],
      unsupported: [
        {
          path: "spec.stagedAction",
          message: `stagedAction ${JSON.stringify(stagedAction)} is not modelled (only Set: the policy as if enforced)`,
        },
      ],
    };
  }
  const { policy, issues } = parseNetworkPolicy({ ...value, kind: "NetworkPolicy", spec: k8sSpec });
  return {
    policy: policy && { ...policy, kind: "StagedKubernetesNetworkPolicy" },
    issues,
    unsupported: [],
  };
}
