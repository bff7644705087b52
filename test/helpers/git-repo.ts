import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const IDENTITY = ["-c", "user.name=Test User", "-c", "user.email=test@example.com"];

/** Runs the system git in a folder and returns its trimmed output. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", [...IDENTITY, ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** A real repository on `main` with one commit holding `files`, and a bare repository as `origin`. */
export function makeRepo(
  root: string,
  files: Record<string, string> = { "README.md": "# gitops\n" },
): { repo: string; remote: string } {
  const repo = join(root, "gitops");
  const remote = join(root, "remote.git");
  mkdirSync(repo, { recursive: true });
  git(root, "init", "--quiet", "--bare", remote);
  git(repo, "init", "--quiet", "-b", "main");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  git(repo, "add", "-A");
  git(repo, "commit", "--quiet", "-m", "initial");
  git(repo, "remote", "add", "origin", remote);
  git(repo, "push", "--quiet", "origin", "main");
  return { repo, remote };
}

/** Every ref and its commit, and the working tree status: what a refusal must leave unchanged. */
export function repoSnapshot(repo: string): string {
  return `${git(repo, "for-each-ref", "--format=%(refname) %(objectname)")}\n${git(repo, "status", "--porcelain")}\nHEAD=${git(repo, "symbolic-ref", "HEAD")}`;
}

/**
 * A STUB of the GitHub CLI (this machine has no GitHub): a `gh` script that appends its arguments
 * (one per line, then a blank line) to `log`, answers `auth status` with `signedIn`, and prints a
 * pull request URL for `pr create`.
 */
export function ghStub(binDir: string, log: string, signedIn: boolean): void {
  mkdirSync(binDir, { recursive: true });
  const script = `#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a" >> '${log}'; done
printf '\\n' >> '${log}'
if [ "$1" = auth ]; then ${signedIn ? "exit 0" : "echo 'You are not logged into any GitHub hosts.' >&2; exit 1"}; fi
if [ "$1" = pr ]; then echo https://github.com/example/gitops/pull/1; fi
`;
  writeFileSync(join(binDir, "gh"), script);
  chmodSync(join(binDir, "gh"), 0o755);
}
