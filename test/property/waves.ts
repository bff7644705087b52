import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { git, makeRepo } from "../helpers/git-repo.js";
import { runInProcess } from "../helpers/in-process.js";
import { type DiffEdge, diffJson, edgeLine, purposes, type RunName, type WorldRun } from "./pipeline.js";
import type { Probes } from "./probes.js";

const BRANCH = "flowpol/network-policies";

/**
 * Every wave of the rollout of one source's policies, as `flowpol rollout` commits them to a real
 * git repository, each commit's tree judged by `flowpol diff` (the path users run) over the
 * source's store and the probe stores. A wave may leave pods un-isolated that the final state
 * isolates; it may not deny what the final state allows, nor allow through a rule what the final
 * state denies.
 */
export async function waveFailures(r: WorldRun, format: RunName, probes: Probes): Promise<string[]> {
  const run = r.runs[format];
  if (run.generate.code !== 0) return [`generate failed: ${run.generate.stderr}`];
  const root = join(r.dir, `rollout-${format}`);
  mkdirSync(root, { recursive: true });
  const { repo } = makeRepo(root);
  const t0 = Date.now();
  const rollout = await runInProcess(["rollout", "--repo", repo, "--from", run.out, "--db", run.store]);
  if (process.env.FLOWPOL_PBT_TIMING) console.log(`rollout ${format}: ${Date.now() - t0} ms`);
  if (rollout.code !== 0) return [`rollout failed: ${rollout.stderr}`];
  const commits = git(repo, "rev-list", "--reverse", `main..${BRANCH}`).split("\n").filter(Boolean);
  // The unobserved-pairs store is the final state's business: a wave only removes isolation.
  const stores: Array<[string, string | undefined]> = [
    ["observed", run.store],
    ["addresses", probes.addresses],
    ["clones", probes.clones],
  ];
  const judge = async (dir: string) => {
    const byStore = new Map<string, Map<string, DiffEdge>>();
    for (const [name, db] of stores) {
      if (!db) continue;
      const { edges, code, stderr } = await diffJson(db, dir, false);
      if (code !== 0) throw new Error(`diff of ${dir} failed: ${stderr}`);
      byStore.set(name, new Map(edges.map((e) => [`${e.source} -> ${e.destination} ${e.protocol}/${e.port}`, e])));
    }
    return byStore;
  };
  const trees = commits.map((commit) => {
    const dir = join(root, `wave-${commit}`);
    mkdirSync(dir, { recursive: true });
    execFileSync("tar", ["-x", "-C", dir], { input: execFileSync("git", ["-C", repo, "archive", commit, "policies"]) });
    return { commit, dir: join(dir, "policies") };
  });
  // One commit would leave no wave to check: the rollout stages at least the allows before the denies.
  if (trees.length < 2) return [`the rollout made ${trees.length} commit(s): ${rollout.stdout}`];
  const final = await judge(trees[trees.length - 1]!.dir);
  const purpose = purposes(run.out);
  const byRule = (e: DiffEdge) =>
    [...e.egress.rules, ...e.ingress.rules].some(
      (rule) => !["dns", "shared"].includes(purpose.get(`${rule.namespace}/${rule.policy}`) ?? ""),
    );
  const failures: string[] = [];
  for (const { commit, dir } of trees.slice(0, -1)) {
    const wave = git(repo, "log", "-1", "--format=%(trailers:key=Flowpol-Wave,valueonly)", commit);
    for (const [name, edges] of await judge(dir)) {
      for (const [key, e] of edges) {
        const end = final.get(name)?.get(key);
        if (!end) continue;
        if (e.status === "denied" && end.status !== "denied")
          failures.push(`wave ${wave}, ${name}: ${edgeLine(e)} (the final state: ${end.status})`);
        if (e.status === "allowed" && end.status === "denied" && byRule(e))
          failures.push(`wave ${wave}, ${name}: ${edgeLine(e)} through a rule (the final state denies it)`);
      }
    }
  }
  return failures;
}
