/**
 * NetworkPolicy synthesis (pure): dependency graph in, policy plan and files out.
 *
 * - `synthesize(graph, options)`: the flavor-neutral `PolicyPlan` (per namespace: default-deny,
 *   DNS, shared-service exceptions, one policy per observed flow).
 * - `toManifest(policy, flavor)`: one policy as a Kubernetes object (NetworkPolicy,
 *   CiliumNetworkPolicy, StagedKubernetesNetworkPolicy).
 * - `generateTree(graph, plan, flavor)`: the output folder as relative paths and text.
 * - `synthesizeSound(graph, observed, options, sound)`: synthesis judged against the store's
 *   observed connections, directions left un-isolated where a workload cannot be selected.
 * - `proveObserved(observed, networkPolicies, context)`: the store's observed connections judged
 *   through the generated set by the one verdict (`src/policy/verdict.ts`), as `flowpol diff` does;
 *   `proveUnobserved(graph, networkPolicies)`: nothing else between known workloads is allowed;
 *   `proveProbes(graph, networkPolicies)`: nor pods created later, nor addresses nobody observed.
 */
export { canonicalCidr, cidrContains, hostCidr, isCidr, METADATA_IPV4, widenIp } from "./cidr.js";
export {
  defaultSynthOptions,
  FLAVORS,
  type Flavor,
  type NamespacePlan,
  type NotAllowed,
  type Peer,
  type PolicyIntent,
  type PolicyPlan,
  type PolicyPurpose,
  type PortRef,
  type Rule,
  type SynthNotice,
  type SynthOptions,
  type Unisolated,
} from "./intent.js";
export { kubernetesSpec, type Manifest, toManifest } from "./manifests.js";
export { MAX_NAME, NameAllocator, toDnsLabel } from "./names.js";
export { type GeneratedFile, type GeneratedTree, generateTree } from "./output.js";
export { MAX_PROBES, type ProbeFailure, type ProbeProof, proveProbes } from "./probes.js";
export {
  DENIED_REASONS,
  type DeniedConnection,
  type DeniedReason,
  MAX_PAIR_CHECKS,
  type NetworkPolicyObject,
  type ObservedProof,
  type ProofContext,
  type ProofFailure,
  proveObserved,
  proveUnobserved,
  type UnobservedProof,
} from "./proof.js";
export { type SoundOptions, type SoundResult, synthesizeSound } from "./sound.js";
export { mergePorts, synthesize } from "./synthesize.js";
