/**
 * Labels and annotations every stage agrees on: the ones Kubernetes sets, the ones flowpol writes
 * on what it generates, and where the cluster DNS runs. One definition each.
 */

/** The label every namespace carries automatically since Kubernetes 1.21. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** flowpol marks everything it writes with this label; a rollout touches nothing else. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "flowpol";
/** The first line of every Markdown file flowpol manages. */
export const MANAGED_MARKDOWN_MARKER = `<!-- ${MANAGED_BY_LABEL}: ${MANAGED_BY_VALUE} -->`;

/** Why a generated policy exists (default-deny, dns, shared, flow). */
export const PURPOSE_LABEL = "flowpol.io/purpose";
/** A generated policy's reason, in words. */
export const DESCRIPTION_ANNOTATION = "flowpol.io/description";

/** Label keys that name what a pod is, in this order of preference. */
export const IDENTITY_LABEL_KEYS: readonly string[] = ["app.kubernetes.io/name", "app", "k8s-app", "name"];

/** The cluster DNS pods as kubeadm, EKS, GKE and AKS deploy them (CoreDNS and kube-dns alike). */
export const CLUSTER_DNS_NAMESPACE = "kube-system";
export const CLUSTER_DNS_LABELS: Readonly<Record<string, string>> = { "k8s-app": "kube-dns" };
