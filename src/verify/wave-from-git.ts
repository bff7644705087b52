import { UsageError } from "../errors.js";
import { isKustomizationPath } from "../rollout/classify.js";
import { Git } from "../rollout/git.js";
import { readTreeFiles } from "../rollout/repository.js";

/**
 * The policy files of one rollout step, found by the `Flowpol-Wave:` trailer of the commits
 * `flowpol rollout` made, read as they are at `ref`.
 */
export async function waveFilesFromGit(
  repoDir: string,
  ref: string,
  wave: string,
  env: NodeJS.ProcessEnv,
): Promise<Array<{ path: string; text: string }>> {
  const git = new Git(repoDir, env);
  const commit = await git.resolveCommit(ref);
  if (!commit)
    throw new UsageError(
      `--ref ${ref} is not a commit in ${repoDir}`,
      "name the branch flowpol rollout made, e.g. --ref flowpol/network-policies",
    );
  const log = await git.out([
    "log",
    "--format=%H%x1f%(trailers:key=Flowpol-Wave,valueonly,separator=%x2c)%x1e",
    commit,
  ]);
  const commits = log
    .split("\x1e")
    .map((r) => r.trim().split("\x1f"))
    .filter(([, w]) => (w ?? "").split(",").some((v) => v.trim() === wave))
    .map(([sha]) => sha!);
  if (commits.length === 0) {
    throw new UsageError(
      `no commit of wave ${wave} on ${ref}`,
      "name a wave from the pull request (1, 2, 3.1, ...) and the branch with --ref",
    );
  }
  const paths = new Set<string>();
  for (const sha of commits) {
    const names = await git.out([
      "diff-tree",
      "--no-commit-id",
      "--name-only",
      "--diff-filter=AM",
      "-r",
      "-z",
      `${sha}^`,
      sha,
    ]);
    for (const p of names.split("\0").filter(Boolean)) if (/\.ya?ml$/i.test(p) && !isKustomizationPath(p)) paths.add(p);
  }
  const atRef = await readTreeFiles(git, commit, "");
  return [...paths]
    .sort()
    .filter((p) => atRef.has(p))
    .map((p) => ({ path: p, text: atRef.get(p)! }));
}
