import { execFile } from "node:child_process";
import { SourceError } from "../errors.js";

/** What one git call returned. */
export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitRunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

/**
 * The system `git`, run with execFile (no shell) in one repository. Every argument is passed as
 * is; nothing from flows or files is ever interpreted by a shell.
 */
export class Git {
  constructor(
    readonly cwd: string,
    private readonly baseEnv: NodeJS.ProcessEnv = process.env,
  ) {}

  run(args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        "git",
        [...args],
        {
          cwd: this.cwd,
          env: { ...this.baseEnv, ...options.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
          maxBuffer: 256 * 1024 * 1024,
          encoding: "utf8",
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
          if (err && typeof err.code !== "number") {
            reject(
              new SourceError(`cannot run git: ${err.message}`, "install git and make sure it is on PATH", {
                cause: err,
              }),
            );
            return;
          }
          if (code !== 0 && !options.allowFailure) {
            reject(
              new SourceError(
                `git ${args[0]} failed in ${this.cwd}: ${stderr.trim() || stdout.trim()}`,
                "see git's message above",
              ),
            );
            return;
          }
          resolve({ code, stdout, stderr });
        },
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });
  }

  async out(args: readonly string[], options: GitRunOptions = {}): Promise<string> {
    return (await this.run(args, options)).stdout.trim();
  }

  /** The commit a revision names, or undefined when it names none. */
  async resolveCommit(rev: string): Promise<string | undefined> {
    const r = await this.run(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], { allowFailure: true });
    return r.code === 0 ? r.stdout.trim() : undefined;
  }
}
