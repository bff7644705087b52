import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isKustomizationPath, KUSTOMIZATION } from "./classify.js";
import type { Git } from "./git.js";
import { kustomizationText } from "./kustomization.js";
import type { RolloutStep } from "./plan.js";
import { TRAILER } from "./repository.js";

export interface CommitStepsInput {
  parent: string;
  /** --path inside the repository ("" for the top). */
  prefix: string;
  steps: readonly RolloutStep[];
  /** Every file under the prefix in the parent commit, by repository path. */
  existing: ReadonlyMap<string, string>;
  /** Which of those flowpol manages. */
  managed: ReadonlySet<string>;
  /** Folders (relative to --path, "" for --path itself) that get a kustomization.yaml, with the text to keep fields from. */
  kustomizeDirs: ReadonlyMap<string, string | undefined>;
  /** The branch existed: commits say "update". */
  update: boolean;
}

export interface StepCommit {
  step: RolloutStep;
  commit: string;
  added: string[];
  changed: string[];
  removed: string[];
}

function joinPath(prefix: string, rel: string): string {
  return prefix ? (rel ? `${prefix}/${rel}` : prefix) : rel;
}

function parentDir(path: string): string {
  const i = path.lastIndexOf("/");
  return i === -1 ? "" : path.slice(0, i);
}

/** Rewrites every kustomization.yaml so it lists exactly the managed resources beside it. */
function refreshKustomizations(
  state: Map<string, string>,
  managed: Set<string>,
  prefix: string,
  dirs: ReadonlyMap<string, string | undefined>,
): void {
  const deepestFirst = [...dirs.keys()].sort((a, b) => b.split("/").length - a.split("/").length || (a < b ? -1 : 1));
  for (const dir of deepestFirst) {
    const full = joinPath(prefix, dir);
    const kpath = joinPath(full, KUSTOMIZATION);
    const resources: string[] = [];
    for (const path of state.keys()) {
      if (!managed.has(path) || parentDir(path) !== full) continue;
      if (isKustomizationPath(path) || !/\.ya?ml$/i.test(path)) continue;
      resources.push(path.slice(full ? full.length + 1 : 0));
    }
    for (const other of dirs.keys()) {
      const otherFull = joinPath(prefix, other);
      if (other !== dir && parentDir(otherFull) === full && state.has(joinPath(otherFull, KUSTOMIZATION))) {
        resources.push(otherFull.slice(full ? full.length + 1 : 0));
      }
    }
    if (resources.length === 0) {
      if (managed.has(kpath)) state.delete(kpath);
      continue;
    }
    state.set(kpath, kustomizationText(dirs.get(dir), resources));
    managed.add(kpath);
  }
}

async function commitIdentityEnv(git: Git): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {};
  const author = await git.run(["var", "GIT_AUTHOR_IDENT"], { allowFailure: true });
  if (author.code !== 0) {
    env.GIT_AUTHOR_NAME = "flowpol";
    env.GIT_AUTHOR_EMAIL = "flowpol@localhost";
  }
  const committer = await git.run(["var", "GIT_COMMITTER_IDENT"], { allowFailure: true });
  if (committer.code !== 0) {
    env.GIT_COMMITTER_NAME = "flowpol";
    env.GIT_COMMITTER_EMAIL = "flowpol@localhost";
  }
  return env;
}

function message(step: RolloutStep, update: boolean, added: string[], changed: string[], removed: string[]): string {
  const counts = [
    added.length ? `${added.length} added` : "",
    changed.length ? `${changed.length} changed` : "",
    removed.length ? `${removed.length} removed` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const lines = [`flowpol: ${update ? "update " : ""}wave ${step.id} ${step.title}`, "", `${counts}:`];
  for (const p of added) lines.push(`  + ${p}`);
  for (const p of changed) lines.push(`  ~ ${p}`);
  for (const p of removed) lines.push(`  - ${p}`);
  lines.push("", `Flowpol-Wave: ${step.id}`, TRAILER, "");
  return lines.join("\n");
}

/**
 * Makes one commit per step that changes something, with git's plumbing and a private index:
 * the user's working tree, index and HEAD are not touched. Returns the commits and the new tip.
 */
export async function commitSteps(git: Git, input: CommitStepsInput): Promise<{ tip: string; commits: StepCommit[] }> {
  const scratch = mkdtempSync(join(tmpdir(), "flowpol-index-"));
  const identity = await commitIdentityEnv(git);
  const env = { ...identity, GIT_INDEX_FILE: join(scratch, "index") };
  try {
    await git.run(["read-tree", input.parent], { env });
    const state = new Map(input.existing);
    const managed = new Set(input.managed);
    const commits: StepCommit[] = [];
    let tip = input.parent;
    for (const step of input.steps) {
      const before = new Map(state);
      for (const f of step.files) {
        const path = joinPath(input.prefix, f.path);
        state.set(path, f.text);
        managed.add(path);
      }
      for (const r of step.removals) {
        const path = joinPath(input.prefix, r);
        if (managed.has(path)) state.delete(path);
      }
      refreshKustomizations(state, managed, input.prefix, input.kustomizeDirs);
      const added: string[] = [];
      const changed: string[] = [];
      const removed: string[] = [];
      for (const [path, text] of state) {
        if (!before.has(path)) added.push(path);
        else if (before.get(path) !== text) changed.push(path);
      }
      for (const path of before.keys()) if (!state.has(path)) removed.push(path);
      if (added.length + changed.length + removed.length === 0) continue;
      added.sort();
      changed.sort();
      removed.sort();
      const records: string[] = [];
      const writes = [...added, ...changed];
      // One hash-object for the whole step: the texts go through scratch files.
      const blobFiles = writes.map((path, i) => {
        const file = join(scratch, `blob-${commits.length}-${i}`);
        writeFileSync(file, state.get(path)!);
        return file;
      });
      const shas = blobFiles.length
        ? (await git.out(["hash-object", "-w", "--stdin-paths"], { input: `${blobFiles.join("\n")}\n` })).split("\n")
        : [];
      writes.forEach((path, i) => {
        records.push(`100644 ${shas[i]}\t${path}\0`);
      });
      for (const path of removed) records.push(`0 ${"0".repeat(40)}\t${path}\0`);
      await git.run(["update-index", "-z", "--index-info"], { env, input: records.join("") });
      const tree = await git.out(["write-tree"], { env });
      tip = await git.out(["commit-tree", tree, "-p", tip, "-F", "-"], {
        env,
        input: message(step, input.update, added, changed, removed),
      });
      commits.push({ step, commit: tip, added, changed, removed });
    }
    return { tip, commits };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
