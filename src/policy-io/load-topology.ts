import { InputError } from "../errors.js";
import { buildTopology, type NameProblem, type ObjectProblem, type Topology } from "../policy/objects.js";
import type { SourceRef } from "../policy/types.js";
import { type Manifests, type ManifestWarning, type ReadManifestsOptions, readManifests } from "./read-manifests.js";

/**
 * Manifests to a validated Topology. Invalid NetworkPolicies are always fatal, with the file,
 * document index and line of each. `lenient` (netpol-analyzer's convention) turns YAML syntax
 * errors, malformed Pods/workloads and policy names that are not DNS subdomains into warnings, and
 * analysis goes on without them (with the policy, for a name). `nameProblems: "caller"` leaves
 * duplicate and invalid policy names to the caller (lint reports them as findings).
 */
export interface LoadOptions extends ReadManifestsOptions {
  lenient?: boolean;
  nameProblems?: "fatal" | "caller";
  warn?: (message: string) => void;
}

export interface Loaded {
  topology: Topology;
  manifests: Manifests;
}

const SHOWN_PROBLEMS = 10;

export function where(s: { file: string; document?: number; line?: number }): string {
  const parts = [];
  if (s.document !== undefined) parts.push(`document ${s.document}`);
  if (s.line !== undefined) parts.push(`line ${s.line}`);
  return parts.length > 0 ? `${s.file} (${parts.join(", ")})` : s.file;
}

export function describeProblem(p: ObjectProblem): string[] {
  return p.issues.map((i) => {
    const line = p.lineOf?.(i.path) ?? p.source.line;
    const at = line === undefined ? p.source : { ...p.source, line };
    return `${where(at)}: ${p.object}: ${i.path ? `${i.path}: ` : ""}${i.message}`;
  });
}

export function loadTopology(paths: readonly string[], options: LoadOptions = {}): Loaded {
  return topologyOf(readManifests(paths, options), options);
}

/** The same, for manifests already read (e.g. from a git tree with `readManifestTexts`). */
export function topologyOf(manifests: Manifests, options: LoadOptions = {}): Loaded {
  const warn = options.warn ?? (() => {});
  for (const w of manifests.warnings) warn(`${where(w)}: ${w.message}`);
  if (manifests.syntaxErrors.length > 0) {
    if (!options.lenient)
      throw problemsError(
        manifests.syntaxErrors.map((e) => `${where(e)}: ${e.message}`),
        manifests.syntaxErrors[0]!,
      );
    for (const e of manifests.syntaxErrors) warn(`${where(e)}: ${e.message} (document skipped)`);
  }
  const topology = buildTopology(manifests.objects);
  if (topology.unsupported.length > 0) throw unsupportedError(topology.unsupported);
  const names = options.nameProblems === "caller" ? [] : topology.nameProblems.map((n) => nameProblem(topology, n));
  const fatalNames = names.filter((_, i) => !options.lenient || topology.nameProblems[i]!.kind === "duplicate");
  const fatal = [
    ...topology.problems.filter((p) => !options.lenient || p.object.startsWith("NetworkPolicy")),
    ...fatalNames,
  ];
  if (fatal.length > 0) throw problemsError(fatal.flatMap(describeProblem), fatal[0]!.source);
  for (const p of topology.problems) for (const line of describeProblem(p)) warn(`${line} (object skipped)`);
  for (const p of names) for (const line of describeProblem(p)) warn(`${line} (analysed all the same)`);
  return { topology, manifests };
}

function nameProblem(topology: Topology, n: NameProblem): ObjectProblem {
  const lineOf = topology.policyLines.get(n.policy);
  const source = n.policy.source ?? { file: "<unknown>", document: 0 };
  const object = `NetworkPolicy ${JSON.stringify(n.policy.name)}`;
  return lineOf ? { source, object, issues: [n.issue], lineOf } : { source, object, issues: [n.issue] };
}

function problemsError(lines: string[], first: SourceRef | ManifestWarning): InputError {
  const shown = lines.slice(0, SHOWN_PROBLEMS);
  const more = lines.length > SHOWN_PROBLEMS ? `\n  ... and ${lines.length - SHOWN_PROBLEMS} more` : "";
  const message = lines.length === 1 ? lines[0]! : `${lines.length} invalid objects:\n  ${shown.join("\n  ")}${more}`;
  return new InputError(message, undefined, `fix ${first.file} as the message says; Kubernetes would reject it too`);
}

/** Policies the engine cannot evaluate: judging without them would report a check that did not happen. */
function unsupportedError(unsupported: readonly ObjectProblem[]): InputError {
  const constructs = unsupported.reduce((n, p) => n + p.issues.length, 0);
  const lines = unsupported.flatMap(describeProblem);
  const shown = lines.slice(0, SHOWN_PROBLEMS);
  const more = lines.length > SHOWN_PROBLEMS ? `\n  ... and ${lines.length - SHOWN_PROBLEMS} more` : "";
  return new InputError(
    `${unsupported.length} ${unsupported.length === 1 ? "policy uses" : "policies use"} ${constructs} ${constructs === 1 ? "construct" : "constructs"} flowpol cannot evaluate; nothing was judged:\n  ${shown.join("\n  ")}${more}`,
    undefined,
    "flowpol reads NetworkPolicy, CiliumNetworkPolicy (endpoints, entities, CIDRs, FQDNs, ports) and StagedKubernetesNetworkPolicy; leave the other policies out of the paths given, knowing the check does not cover them",
  );
}
