import { type DiffEdge, diffJson, edgeLine, outOfScope, probeUnobserved, purposes, type WorldRun } from "./pipeline.js";
import type { Format, World } from "./world.js";

/** Issue 14's properties of one world's run, each a list of the connections that break it (empty: holds). */

/** Every observed connection allowed, or listed by generate (`not allowed: ...`) with its reason. */
export function unexplainedDenials(r: WorldRun, format: Format): string[] {
  const listed = r.runs[format].generate.stderr.split("\n").filter((l) => l.startsWith("not allowed: "));
  return r.runs[format].diff.edges
    .filter((e) => e.status === "denied")
    .filter(
      (e) =>
        !listed.some(
          (l) =>
            l.includes(`${e.protocol}/${e.port}`) && (l.includes(ipOf(e.destination)) || l.includes(ipOf(e.source))),
        ),
    )
    .map(edgeLine);
}
const ipOf = (id: string) => /(\d+\.\d+\.\d+\.\d+)/.exec(id)?.[1] ?? "\u0000";

/** Unobserved connections the policies allow through no named exception (shared service, DNS). */
export async function overPermissive(world: World, r: WorldRun, format: Format): Promise<string[]> {
  if (r.runs[format].generate.code !== 0) return [`generate failed: ${r.runs[format].generate.stderr}`];
  const probe = await probeUnobserved(world, r.dir);
  const purpose = purposes(r.runs[format].out);
  const { edges } = await diffJson(probe.store, r.runs[format].out, false);
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

/** The verdicts on the Hubble store of the policies generated from another source. */
export async function verdictsOnHubble(r: WorldRun, format: Format): Promise<string[]> {
  const { edges } = await diffJson(r.runs.hubble.store, r.runs[format].out, false);
  return edges.map(edgeLine).sort();
}
