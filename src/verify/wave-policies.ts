import { InputError } from "../errors.js";
import type { Namespace, NetworkPolicy } from "../policy/types.js";
import { type LoadOptions, loadTopology, topologyOf } from "../policy-io/load-topology.js";
import { readManifestTexts } from "../policy-io/read-manifests.js";

/**
 * The policies of the wave under verification, read as `flowpol diff` and `lint` read policies
 * (every flavor flowpol writes; a kind or construct the engine cannot evaluate is refused with a
 * count, never skipped), with the Namespace manifests given beside them.
 */
export interface WavePolicies {
  policies: NetworkPolicy[];
  namespaces: Namespace[];
}

/** From `--policies` files and folders. */
export function readWavePolicyPaths(paths: readonly string[], options: LoadOptions = {}): WavePolicies {
  return wavePolicies(loadTopology(paths, options).topology, paths.join(", "));
}

/** From the files of a rollout step (`--wave`), as they are at the ref. */
export function readWavePolicyTexts(
  files: ReadonlyArray<{ path: string; text: string }>,
  where: string,
  options: LoadOptions = {},
): WavePolicies {
  return wavePolicies(topologyOf(readManifestTexts(files), options).topology, where);
}

function wavePolicies(
  topology: { policies: NetworkPolicy[]; namespaces: Namespace[]; ignored: number },
  where: string,
): WavePolicies {
  if (topology.policies.length === 0) {
    throw new InputError(
      `no policy in ${where}${topology.ignored > 0 ? ` (${topology.ignored} objects of other kinds)` : ""}: nothing to verify the drops against`,
      undefined,
      "give the wave's NetworkPolicy, CiliumNetworkPolicy or StagedKubernetesNetworkPolicy files with --policies, or its step with --wave",
    );
  }
  return { policies: topology.policies, namespaces: topology.namespaces };
}
