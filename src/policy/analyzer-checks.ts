import type { NetworkPolicy } from "./types.js";
import { MESSAGES, type ValidationIssue } from "./validate.js";

/**
 * netpol-analyzer rejects what Kubernetes accepts in one case: a named port in an egress rule
 * whose peers include an ipBlock (a named port cannot be resolved on an IP). Kubernetes lets such a
 * port match nothing.
 */
export function analyzerIssues(policy: NetworkPolicy): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  (policy.egress ?? []).forEach((rule, i) => {
    const named = (rule.ports ?? []).some((p) => typeof p.port === "string");
    if (named && (rule.to ?? []).some((p) => p.ipBlock)) {
      issues.push({ path: `spec.egress[${i}]`, message: MESSAGES.namedPortToIp });
    }
  });
  return issues;
}
