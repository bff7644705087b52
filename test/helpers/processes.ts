import { type ChildProcess, spawn } from "node:child_process";
import { CLI } from "./paths.js";

/** A CLI child process running asynchronously (servers, collectors that tests signal or kill). */
export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or -1 when killed by a signal). */
  exited: Promise<number>;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until the process's stdout matches, or fails with what it printed. */
export async function waitForOutput(p: RunningCli, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = p.stdout().match(pattern);
    if (m) return m;
    if (p.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ${pattern} in output; stdout: ${p.stdout()} stderr: ${p.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface ReplayServer {
  port: number;
  process: RunningCli;
  stop(): Promise<void>;
}

/** Starts `flowpol replay-server` on 127.0.0.1 (port 0 unless given) and waits until it listens. */
export async function startHubbleReplayServer(args: string[], port = 0): Promise<ReplayServer> {
  const p = spawnCli(["replay-server", "--listen", `127.0.0.1:${port}`, ...args]);
  const m = await waitForOutput(p, /listening on 127\.0\.0\.1:(\d+)/);
  return {
    port: Number(m[1]),
    process: p,
    stop: async () => {
      if (p.child.exitCode === null) p.child.kill("SIGTERM");
      await p.exited;
    },
  };
}
