import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What one measured run reports. Runs happen in a child process so peak RSS is its own. */
export interface Measurement {
  seconds: number;
  /** CPU time of the whole process, all threads: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  maxRssMb: number;
  result: Record<string, number>;
}

/** Runs `dist/bench/child.js TASK ARGS...` and parses its JSON answer. */
export function measureInChild(task: string, args: string[]): Measurement {
  const child = fileURLToPath(new URL("./child.js", import.meta.url));
  const out = execFileSync(process.execPath, [child, task, ...args], {
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as Measurement;
}
