import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { SourceError, UsageError } from "../errors.js";
import type { Git } from "./git.js";

/** The trailer on every commit flowpol makes; a branch with other commits is not flowpol's. */
export const TRAILER = "Generated-by: flowpol";

export interface RepositoryState {
  /** The repository's top-level folder. */
  top: string;
  /** --path relative to the top, posix separators, "" for the top itself. */
  prefix: string;
  baseCommit: string;
  branch: string;
  /** The branch's commit when it exists already. */
  branchTip: string | undefined;
}

function realpathOfExistingPrefix(path: string): string {
  let current = path;
  const rest: string[] = [];
  while (!existsSync(current)) {
    rest.unshift(current.slice(dirname(current).length + 1));
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return resolve(realpathSync(current), ...rest);
}

/**
 * Checks everything a rollout needs before it writes anything: a git repository, --path inside
 * it, a clean working tree, the base, and a branch that holds only flowpol's commits.
 */
export async function inspectRepository(
  git: Git,
  options: { repoDir: string; path: string; base: string; branch: string },
): Promise<RepositoryState> {
  if (!existsSync(options.repoDir)) {
    throw new UsageError(
      `--repo ${options.repoDir} does not exist`,
      "point --repo at a clone of your GitOps repository",
    );
  }
  const topResult = await git.run(["rev-parse", "--show-toplevel"], { allowFailure: true });
  if (topResult.code !== 0 || !topResult.stdout.trim()) {
    throw new UsageError(
      `${options.repoDir} is not a git repository (or is a bare one)`,
      "point --repo at a working clone of your GitOps repository (`git clone URL`)",
    );
  }
  const top = realpathSync(topResult.stdout.trim());
  const target = realpathOfExistingPrefix(isAbsolute(options.path) ? options.path : resolve(top, options.path));
  const rel = relative(top, target);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new UsageError(
      `--path ${options.path} is outside the repository ${top}`,
      "give a folder inside the repository, e.g. --path policies",
    );
  }
  // Case-insensitive: on macOS and Windows `.GIT/hooks` is git's own folder.
  if (rel.split(sep).some((part) => part.toLowerCase() === ".git")) {
    throw new UsageError(
      `--path ${options.path} is inside git's own folder`,
      "give a folder of the working tree, e.g. --path policies",
    );
  }
  const prefix = rel.split(sep).join("/");

  const dirty = await git.out(["status", "--porcelain", "--untracked-files=normal"]);
  if (dirty) {
    const first = dirty.split("\n").slice(0, 5).join("\n  ");
    throw new UsageError(
      `the working tree of ${top} has uncommitted changes:\n  ${first}`,
      "commit or stash them (`git stash -u`), then run flowpol rollout again",
    );
  }

  const baseCommit = await git.resolveCommit(options.base);
  if (!baseCommit) {
    throw new UsageError(
      `the base ${options.base} is not a branch or commit in ${top}`,
      "name an existing branch with --base (default: main)",
    );
  }

  const check = await git.run(["check-ref-format", "--branch", options.branch], { allowFailure: true });
  if (check.code !== 0 || /^(refs\/|heads\/|HEAD$)/i.test(options.branch)) {
    throw new UsageError(
      `--branch ${options.branch} is not a valid branch name`,
      "give the short name of a branch, e.g. --branch flowpol/network-policies (not refs/heads/...)",
    );
  }
  const checkedOutIn = await worktreeOf(git, options.branch);
  if (checkedOutIn !== undefined || options.branch === options.base) {
    throw new UsageError(
      checkedOutIn !== undefined
        ? `--branch ${options.branch} is checked out in ${checkedOutIn}`
        : `--branch ${options.branch} is the base branch`,
      "flowpol commits the waves onto a branch of their own for review: choose another --branch (default: flowpol/network-policies)",
    );
  }
  const branchTip = await git.resolveCommit(`refs/heads/${options.branch}`);
  if (branchTip) {
    const log = await git.out([
      "log",
      "--format=%H%x1f%(trailers:key=Generated-by,valueonly,separator=%x2c)%x1e",
      `${baseCommit}..${branchTip}`,
    ]);
    const foreign = log
      .split("\x1e")
      .map((r) => r.trim())
      .filter(Boolean)
      .map((r) => r.split("\x1f"))
      .filter(([, by]) => !(by ?? "").split(",").some((v) => v.trim() === "flowpol"))
      .map(([sha]) => sha!.slice(0, 12));
    if (foreign.length > 0) {
      throw new UsageError(
        `the branch ${options.branch} has ${foreign.length} commit(s) flowpol did not make (${foreign.slice(0, 3).join(", ")})`,
        "choose another --branch, or move those commits elsewhere; flowpol only adds to branches it made",
      );
    }
  }
  return { top, prefix, baseCommit, branch: options.branch, branchTip };
}

/** The working tree (main or linked) that has `branch` checked out, if any. */
async function worktreeOf(git: Git, branch: string): Promise<string | undefined> {
  const list = await git.out(["worktree", "list", "--porcelain"]);
  let path: string | undefined;
  for (const line of list.split("\n")) {
    if (line.startsWith("worktree ")) path = line.slice("worktree ".length);
    else if (line === `branch refs/heads/${branch}`) return path;
  }
  return undefined;
}

/** The symlinks and submodules at or under `prefix` in a commit: paths flowpol never writes at or through. */
export async function readTreeLinks(git: Git, commit: string, prefix: string): Promise<string[]> {
  const listing = await git.out(["ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix || "."]);
  return listing
    .split("\0")
    .filter(Boolean)
    .filter((line) => line.startsWith("120000 ") || line.startsWith("160000 "))
    .map((line) => line.slice(line.indexOf("\t") + 1));
}

/** The text of every file under `prefix` in a commit (symlinks and submodules excluded). */
export async function readTreeFiles(git: Git, commit: string, prefix: string): Promise<Map<string, string>> {
  const listing = await git.out(["ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix || "."]);
  const entries = listing
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf("\t");
      const [mode, type, sha] = line.slice(0, tab).split(" ");
      return { mode: mode!, type: type!, sha: sha!, path: line.slice(tab + 1) };
    })
    .filter((e) => e.type === "blob" && e.mode !== "120000");
  const files = new Map<string, string>();
  if (entries.length === 0) return files;
  const raw = await catFileBatch(
    git.cwd,
    entries.map((e) => e.sha),
  );
  entries.forEach((e, i) => {
    files.set(e.path, raw[i]!.toString("utf8"));
  });
  return files;
}

function catFileBatch(cwd: string, shas: string[]): Promise<Buffer[]> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      "git",
      ["cat-file", "--batch"],
      { cwd, encoding: "buffer", maxBuffer: 1024 * 1024 * 1024, env: { ...process.env, LC_ALL: "C" } },
      (err, stdout) => {
        if (err) {
          reject(new SourceError(`git cat-file failed in ${cwd}: ${err.message}`, "check the repository"));
          return;
        }
        const out: Buffer[] = [];
        let at = 0;
        for (let i = 0; i < shas.length; i++) {
          const nl = stdout.indexOf(10, at);
          const header = stdout.subarray(at, nl).toString("utf8").split(" ");
          const size = Number(header[2]);
          out.push(stdout.subarray(nl + 1, nl + 1 + size));
          at = nl + 1 + size + 1;
        }
        resolvePromise(out);
      },
    );
    child.stdin?.end(`${shas.join("\n")}\n`);
  });
}
