import { isDns1123Label } from "./k8s-names.js";

/**
 * A Kubernetes cluster's name as flowpol keeps it: a DNS-1123 label (Cilium's `cluster-name` is
 * one, at most 32 characters). Names reach the store, file names and reports, so others are refused.
 */
export function isClusterName(value: string): boolean {
  return isDns1123Label(value);
}
