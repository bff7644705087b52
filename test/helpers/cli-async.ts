import { type ChildProcess, spawn } from "node:child_process";
import { CLI } from "./paths.js";

export interface RunningCli {
  child: ChildProcess;
  /** Resolves when the process exits. */
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * Runs the built CLI in a child process without blocking the test's event loop: for tests whose
 * own servers (gRPC replay) must keep answering while the CLI runs.
 */
export function startCli(args: string[]): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  return { child, done };
}
