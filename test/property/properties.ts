import { type DiffEdge, diffJson, edgeLine, outOfScope, purposes, type RunName, type WorldRun } from "./pipeline.js";
import type { Probes } from "./probes.js";

/** Issue 14's properties of one world's run, each a list of the connections that break it (empty: holds). */

/**
 * Every observed connection allowed, or listed by generate's proof (`denied: A -> B TCP/80 ...:
 * reason`) with a documented reason. The diff judges; generate's list only explains.
 */
export function unexplainedDenials(r: WorldRun, format: RunName): string[] {
  const explained = r.runs[format].generate.stderr
    .split("\n")
    .filter((l) => l.startsWith("denied: ") && !l.endsWith(": no documented reason"));
  return r.runs[format].diff.edges
    .filter((e) => e.status === "denied")
    .filter((e) => {
      const head = `denied: ${e.source} -> ${e.destination} ${e.protocol}${e.port > 0 ? `/${e.port}` : ""} (`;
      return !explained.some((l) => l.startsWith(head));
    })
    .map(edgeLine);
}

/**
 * Unobserved connections between workloads (pods created later among them) that the policies
 * allow through no named exception (shared service, DNS).
 */
export async function overPermissive(probes: Probes, r: WorldRun, format: RunName): Promise<string[]> {
  if (r.runs[format].generate.code !== 0) return [`generate failed: ${r.runs[format].generate.stderr}`];
  if (!probes.unobserved) return [];
  const purpose = purposes(r.runs[format].out);
  const { edges } = await diffJson(probes.unobserved, r.runs[format].out, false);
  const exception = (e: DiffEdge) =>
    [...e.egress.rules, ...e.ingress.rules].some((rule) =>
      ["dns", "shared"].includes(purpose.get(`${rule.namespace}/${rule.policy}`) ?? ""),
    );
  return edges
    .filter(
      (e) =>
        (e.status === "allowed" && !exception(e)) ||
        (e.status === "unprotected" && !(outOfScope(e.source) && outOfScope(e.destination))),
    )
    .map(edgeLine);
}

/**
 * Sources that report some peers without an address: Calico flow logs at the EE default levels
 * (level 2 for allowed flows: `pub`/`pvt`) and Goldmane. No ipBlock can name such a peer, so
 * generate lists those connections ("a peer with no address") and their decisions cannot match
 * Hubble's; every connection between workloads must.
 */
export const ADDRESSLESS: ReadonlySet<RunName> = new Set(["calico", "goldmane"]);
const isWorkload = (id: string) => /^[^/]+\/[^/]+\[[A-Za-z]+\]$/.test(id);

/** The verdicts on the Hubble store of the policies generated from a source (see ADDRESSLESS). */
export async function verdictsOnHubble(r: WorldRun, format: RunName, workloadsOnly = false): Promise<string[]> {
  const { edges } = await diffJson(r.runs.hubble.store, r.runs[format].out, false);
  return edges
    .filter((e) => !workloadsOnly || (isWorkload(e.source) && isWorkload(e.destination)))
    .map(edgeLine)
    .sort();
}

/** The same decisions as Hubble's policies, as far as the source can name the peers. */
export async function decisionsDifferingFromHubble(r: WorldRun, format: RunName): Promise<string[]> {
  const only = ADDRESSLESS.has(format);
  const mine = await verdictsOnHubble(r, format, only);
  const hubble = new Set(await verdictsOnHubble(r, "hubble", only));
  const theirs = new Set(mine);
  return [...mine.filter((l) => !hubble.has(l)), ...[...hubble].filter((l) => !theirs.has(l))].sort();
}

/** Unobserved addresses (external, node on port 53, unseen node, NodeLocal DNS off port 53) that are not denied. */
export async function addressesNotDenied(probes: Probes, r: WorldRun, format: RunName): Promise<string[]> {
  if (!probes.addresses) return [];
  const { edges } = await diffJson(probes.addresses, r.runs[format].out, false);
  return edges
    .filter((e) => e.status !== "denied" && !(outOfScope(e.source) && outOfScope(e.destination)))
    .map(edgeLine);
}

/** The host a probe came from is the node of the pod it probes: clones may sit on another. */
const sameNode = (id: string) => id.replace(/^host\([^)]*\)$/, "host");

/**
 * Connections of a pod created later with exactly an observed workload's labels, whose decision
 * differs from the workload's own (judged on the Hubble store, with the same policies).
 */
export async function clonesDiffering(probes: Probes, r: WorldRun, format: RunName): Promise<string[]> {
  if (!probes.clones) return [];
  const original = new Map<string, Set<string>>();
  for (const e of (await diffJson(r.runs.hubble.store, r.runs[format].out, false)).edges) {
    const key = `${sameNode(e.source)} -> ${sameNode(e.destination)} ${e.protocol}/${e.port}`;
    original.set(key, (original.get(key) ?? new Set()).add(e.status));
  }
  const { edges } = await diffJson(probes.clones, r.runs[format].out, false);
  const named = (id: string) => sameNode(probes.cloneOf.get(id) ?? id);
  const cloneEdges = edges.filter((e) => probes.cloneOf.has(e.source) || probes.cloneOf.has(e.destination));
  let matched = 0;
  const differing = cloneEdges.flatMap((e) => {
    const statuses = original.get(`${named(e.source)} -> ${named(e.destination)} ${e.protocol}/${e.port}`);
    if (statuses === undefined) return [];
    matched++;
    return statuses.has(e.status) ? [] : [`${edgeLine(e)} (the workload it copies: ${[...statuses].join(", ")})`];
  });
  // A probe that never meets its workload's connection would check nothing.
  if (cloneEdges.length > 0 && matched === 0)
    return [`no clone connection matched its workload's: ${cloneEdges.map(edgeLine).join("; ")}`];
  return differing;
}

/** generate's own proof found nothing over-permissive (pairs of workloads, pods created later, addresses). */
export function generateOverPermissive(r: WorldRun, format: RunName): string[] {
  return r.runs[format].generate.stderr.split("\n").filter((l) => l.startsWith("over-permissive: "));
}
