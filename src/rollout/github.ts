import { execFile } from "node:child_process";
import { SourceError } from "../errors.js";

export interface PullRequestRequest {
  cwd: string;
  base: string;
  branch: string;
  title: string;
  bodyFile: string;
  env: NodeJS.ProcessEnv;
}

function run(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | "missing"; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("gh", args, { cwd, env, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") resolve({ code: "missing", stdout, stderr });
      else resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function quote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The `gh pr create` arguments for a request. */
export function ghCreateArgs(r: Omit<PullRequestRequest, "cwd" | "env">): string[] {
  return ["pr", "create", "--base", r.base, "--head", r.branch, "--title", r.title, "--body-file", r.bodyFile];
}

/**
 * Opens the pull request with the GitHub CLI when it is installed and signed in. Otherwise returns
 * the exact command to run, for the user to run once `gh` is ready.
 */
export async function openPullRequest(
  r: PullRequestRequest,
  bodySource: string[],
): Promise<{ opened: boolean; output: string }> {
  const printable = `${bodySource.map(quote).join(" ")} | ${["gh", ...ghCreateArgs({ ...r, bodyFile: "-" })].map(quote).join(" ")}`;
  const auth = await run(["auth", "status"], r.cwd, r.env);
  if (auth.code === "missing")
    return { opened: false, output: `gh is not installed; to open the pull request run:\n  ${printable}` };
  if (auth.code !== 0)
    return { opened: false, output: `gh is not signed in (gh auth login); then run:\n  ${printable}` };
  const created = await run(ghCreateArgs(r), r.cwd, r.env);
  if (created.code !== 0) {
    throw new SourceError(
      `gh pr create failed: ${(created.stderr || created.stdout).trim()}`,
      `run it yourself: ${printable}`,
    );
  }
  return { opened: true, output: created.stdout.trim() };
}
