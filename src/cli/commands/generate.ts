import { Command } from "commander";
import { CheckFailedError, UsageError } from "../../errors.js";
import type { DependencyGraph } from "../../graph/index.js";
import { coveredFamily } from "../../synth/cidr.js";
import {
  canonicalCidr,
  DENIED_REASONS,
  FLAVORS,
  type Flavor,
  isCidr,
  proveProbes,
  proveUnobserved,
  synthesizeSound,
} from "../../synth/index.js";
import type { PolicyPlan } from "../../synth/intent.js";
import type { ObservedProof, UnobservedProof } from "../../synth/proof.js";
import { collectList } from "../flags.js";
import { type GraphScopeOptions, loadGraph, toScope } from "../load-graph.js";
import { addOutputOptions, parseIntFlag } from "../options.js";
import { type Output, writeLine } from "../output.js";
import { readingStore } from "../read-store.js";
import { addScopeOptions, scopeOf } from "../scope-options.js";
import { isoTime } from "../time-flags.js";
import { writeTree } from "../write-tree.js";

export function define(out: Output): Command {
  const cmd = addScopeOptions(
    new Command("generate").description(
      "least-privilege NetworkPolicies from the observed flows, one folder per namespace",
    ),
    "get policies",
  )
    .requiredOption("--out <dir>", "output folder (created; only flowpol's own files are replaced)")
    .option("--flavor <name>", "kubernetes, cilium or calico-staged", "kubernetes")
    .option("--cidr-prefix <n>", "widen external IPv4 peers to this prefix", parseIntFlag("--cidr-prefix"), 32)
    .option("--cidr-prefix-v6 <n>", "widen external IPv6 peers to this prefix", parseIntFlag("--cidr-prefix-v6"), 128)
    .option("--node-cidr <cidr>", "node address blocks for host/probe traffic (repeatable)", collectList, [])
    .option("--allow-metadata", "allow egress to the cloud metadata address 169.254.169.254 when observed", false)
    .option("--allow-any-address", "permit a prefix of 0 (0.0.0.0/0, ::/0)", false)
    .option(
      "--accept-denied",
      "keep isolation that denies observed connections (listed) and exit 0; default: leave that direction un-isolated where a workload has no stable labels, exit 3 for anything else denied",
      false,
    );
  return addOutputOptions(cmd, { formats: ["text", "json"], default: "text" }, out).action(async (o) => {
    await generate(
      {
        ...scopeOf(o),
        out: o.out,
        flavor: o.flavor,
        cidrPrefix: o.cidrPrefix,
        cidrPrefixV6: o.cidrPrefixV6,
        nodeCidrs: o.nodeCidr,
        allowMetadata: o.allowMetadata,
        allowAnyAddress: o.allowAnyAddress,
        acceptDenied: o.acceptDenied,
        json: o.output === "json",
      },
      out,
    );
  });
}

export interface GenerateCommandOptions extends GraphScopeOptions {
  out: string;
  flavor: string;
  cidrPrefix: number;
  cidrPrefixV6: number;
  nodeCidrs: string[];
  allowMetadata: boolean;
  allowAnyAddress: boolean;
  /** Keep isolation that denies observed connections, and exit 0. */
  acceptDenied: boolean;
  /** The summary as one JSON object on stdout (-o json). */
  json?: boolean;
}

/** What a generate run wrote and proved. */
interface Generated {
  graph: DependencyGraph;
  plan: PolicyPlan;
  written: number;
  removed: string[];
  proof: ObservedProof;
  unobserved: UnobservedProof;
  /** Pods created later and addresses nobody observed, judged through the generated policies. */
  probes: ReturnType<typeof proveProbes>;
  /** Files too large for the usual ways of applying them. */
  tooLarge: string[];
}

/**
 * `flowpol generate --out DIR`: least-privilege policies for every namespace in scope, then the
 * proof: the store's observed connections judged through them as `flowpol diff` judges them. Exit 3
 * when one is denied for no documented reason (unless --accept-denied).
 */
export async function generate(options: GenerateCommandOptions, out: Output): Promise<void> {
  const nodeCidrs = checkFlags(options);
  const { graph, observed } = await readingStore(options.db, options.cluster, async (read) => {
    const graph = await loadGraph(options, read);
    if (graph.namespaces.length === 0) {
      throw new UsageError(
        "no namespace in scope has observed workloads",
        "check --namespace/--exclude-namespace and --since/--until, or run `flowpol stats`",
      );
    }
    const scope = toScope(options);
    return { graph, observed: await read.store.readObserved({ since: scope.since, until: scope.until }, read.cluster) };
  });
  const { plan, tree, proof } = synthesizeSound(
    graph,
    observed,
    {
      flavor: options.flavor as Flavor,
      cidrPrefixV4: options.cidrPrefix,
      cidrPrefixV6: options.cidrPrefixV6,
      nodeCidrs,
      allowMetadata: options.allowMetadata,
      allowAnyAddress: options.allowAnyAddress,
    },
    { acceptDenied: options.acceptDenied, minFlows: options.minFlows },
  );
  if (!options.allowAnyAddress) refuseEveryAddress(plan, options);
  const { written, removed } = writeTree(options.out, tree.files);
  const result = {
    graph,
    plan,
    written,
    removed,
    proof,
    unobserved: proveUnobserved(graph, tree.networkPolicies),
    probes: proveProbes(graph, tree.networkPolicies),
    tooLarge: tree.warnings,
  };
  if (options.json) writeLine(out.stdout, JSON.stringify(generatedJson(result, options), null, 2));
  else printGenerated(result, options, out);
  const failed = proof.denied.filter((d) => d.reason === undefined);
  if (failed.length > 0 && !options.acceptDenied) {
    throw new CheckFailedError(
      `the generated policies would deny ${failed.length} observed connection(s) for no documented reason (listed ${options.json ? "in the JSON" : "above"}; the files are written)`,
      "check the workloads' labels in the store (`flowpol graph`), or pass --accept-denied to keep these policies anyway",
    );
  }
}

/** The flags that need more than their parser, checked before anything is read; the node CIDRs, canonical. */
function checkFlags(options: GenerateCommandOptions): string[] {
  if (options.out === "-") {
    throw new UsageError("generate writes a folder: --out - is not one", "name the output folder, e.g. --out policies");
  }
  if (!FLAVORS.includes(options.flavor as Flavor)) {
    throw new UsageError(`--flavor ${options.flavor} is not known`, `use one of ${FLAVORS.join(", ")}`);
  }
  if (options.cidrPrefix > 32) throw new UsageError("--cidr-prefix takes 0-32", "use 32 for exact addresses");
  if (options.cidrPrefixV6 > 128) throw new UsageError("--cidr-prefix-v6 takes 0-128", "use 128 for exact addresses");
  if ((options.cidrPrefix === 0 || options.cidrPrefixV6 === 0) && !options.allowAnyAddress) {
    throw new UsageError(
      "a prefix of 0 would allow every address (0.0.0.0/0 or ::/0)",
      "use a longer --cidr-prefix, or pass --allow-any-address if you really mean it",
    );
  }
  return options.nodeCidrs.map((c) => {
    if (!isCidr(c))
      throw new UsageError(`--node-cidr ${JSON.stringify(c)} is not a CIDR`, "use e.g. --node-cidr 10.0.0.0/24");
    const canonical = canonicalCidr(c);
    if ((canonical === "0.0.0.0/0" || canonical === "::/0") && !options.allowAnyAddress) {
      throw new UsageError(`--node-cidr ${c} is every address`, "name the node subnet");
    }
    return canonical;
  });
}

function generatedJson(r: Generated, options: GenerateCommandOptions) {
  const deniedOf = (d: ObservedProof["denied"][number]) => ({
    ...d,
    reason: d.reason ?? null,
    explanation: d.reason ? DENIED_REASONS[d.reason] : null,
  });
  return {
    out: options.out,
    flavor: options.flavor,
    policies: r.plan.namespaces.reduce((n, ns) => n + ns.policies.length, 0),
    namespaces: r.plan.namespaces.map((ns) => ({ namespace: ns.namespace, policies: ns.policies.length })),
    filesChanged: r.written,
    staleRemoved: r.removed,
    belowMinFlows: r.graph.belowMinFlows,
    warnings: [...r.graph.warnings.map((w) => w.message), ...r.tooLarge],
    notices: r.plan.notices.map((n) => n.message),
    notAllowed: r.plan.notAllowed.map((n) => ({
      ...n.edge,
      first: isoTime(n.edge.first),
      last: isoTime(n.edge.last),
      reason: n.reason,
    })),
    proof: { ...r.proof, denied: r.proof.denied.map(deniedOf) },
    unobserved: r.unobserved,
  };
}

function printGenerated(r: Generated, options: GenerateCommandOptions, out: Output): void {
  const { graph, plan, proof, unobserved } = r;
  const policies = plan.namespaces.reduce((n, ns) => n + ns.policies.length, 0);
  writeLine(
    out.stdout,
    `generated ${policies} ${options.flavor} policies for ${plan.namespaces.length} namespace(s) in ${options.out} (${r.written} file(s) changed${r.removed.length > 0 ? `, ${r.removed.length} stale removed` : ""})`,
  );
  for (const ns of plan.namespaces) writeLine(out.stdout, `  ${ns.namespace}/  ${ns.policies.length} policies`);
  if (graph.belowMinFlows > 0) {
    writeLine(
      out.stdout,
      `left out ${graph.belowMinFlows} connection(s) with fewer than ${options.minFlows} flows (--min-flows)`,
    );
  }
  for (const w of graph.warnings) writeLine(out.stderr, `warning: ${w.message}`);
  for (const w of r.tooLarge) writeLine(out.stderr, `warning: ${w}`);
  for (const n of plan.notices) writeLine(out.stderr, `notice: ${n.message}`);
  for (const n of plan.notAllowed) {
    writeLine(out.stderr, `not allowed: ${n.edge.from} -> ${n.edge.to} ${n.edge.protocol}/${n.edge.port}: ${n.reason}`);
  }
  printProof(proof, unobserved, r.probes, out);
}

function printProof(proof: ObservedProof, unobserved: UnobservedProof, probes: Generated["probes"], out: Output): void {
  const documented = proof.denied.filter((d) => d.reason !== undefined).length;
  const failed = proof.denied.length - documented;
  writeLine(
    out.stdout,
    `proof: judged the store's ${proof.observed} observed connection(s) through the generated policies, as \`flowpol diff\` does: ${proof.allowed} allowed, ${proof.unprotected} unprotected (no policy isolates either side), ${proof.denied.length} denied (${documented} for a documented reason${failed > 0 ? `, ${failed} for none` : ""})`,
  );
  if (unobserved.skipped) writeLine(out.stdout, `proof: unobserved pairs not checked: ${unobserved.skipped}`);
  else {
    const denied =
      unobserved.unobservedPairsChecked -
      unobserved.allowedBySharedException -
      unobserved.unisolated -
      unobserved.overPermissive.length;
    writeLine(
      out.stdout,
      `proof: ${unobserved.unobservedPairsChecked} unobserved workload/port pair(s): ${denied} denied, ${unobserved.allowedBySharedException} allowed only by named shared-service exceptions, ${unobserved.overPermissive.length} over-permissive${unobserved.unisolated > 0 ? `, ${unobserved.unisolated} pass where a direction was left un-isolated` : ""}`,
    );
  }
  for (const d of proof.denied) {
    const where = d.deniedBy.join(" and ");
    writeLine(
      out.stderr,
      `denied: ${d.from} -> ${d.to} ${d.protocol}${d.port > 0 ? `/${d.port}` : ""} (${d.flows} flows) at ${where}: ${d.reason ? DENIED_REASONS[d.reason] : "no documented reason"}`,
    );
  }
  if (probes.skipped)
    writeLine(out.stdout, `proof: pods created later and unobserved addresses not checked: ${probes.skipped}`);
  else {
    writeLine(
      out.stdout,
      `proof: ${probes.checked} probe(s) of pods created later and addresses nobody observed: ${probes.denied} denied, ${probes.allowedByException} allowed only by named exceptions, ${probes.overPermissive.length} over-permissive${probes.unisolated > 0 ? `, ${probes.unisolated} pass where a direction was left un-isolated` : ""}`,
    );
  }
  for (const m of probes.overPermissive) {
    writeLine(out.stderr, `over-permissive: ${m.probe} ${m.protocol}/${m.port} is allowed but was never observed`);
  }
  for (const m of unobserved.overPermissive) {
    writeLine(
      out.stderr,
      `over-permissive: ${m.from} -> ${m.to} ${m.protocol}/${m.port} is allowed but was never observed (fallback selector)`,
    );
  }
}

/**
 * Widening may make blocks that together are every address (`--cidr-prefix 1`: 0.0.0.0/1 and
 * 128.0.0.0/1), which a prefix of 0 would have said plainly: refused the same way.
 */
function refuseEveryAddress(plan: PolicyPlan, options: GenerateCommandOptions): void {
  for (const ns of plan.namespaces) {
    for (const policy of ns.policies) {
      for (const rules of [policy.ingress ?? [], policy.egress ?? []]) {
        const cidrs = rules.flatMap((r) => r.peers.flatMap((p) => (p.kind === "ip" ? [p.cidr] : [])));
        const family = coveredFamily(cidrs);
        if (family) {
          throw new UsageError(
            `--cidr-prefix ${family === "IPv4" ? options.cidrPrefix : options.cidrPrefixV6} widens the observed addresses of ${ns.namespace}/${policy.name} to blocks that together are every ${family} address`,
            "use a longer --cidr-prefix (or --cidr-prefix-v6), or pass --allow-any-address if you really mean it",
          );
        }
      }
    }
  }
}
