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

/**
 * Runs the tasks in turn, `rounds` times, and keeps each task's fastest run: on a shared machine
 * a single run mostly measures the neighbours. Peak RSS is the highest of any run.
 */
export function fastestOf(rounds: number, tasks: Array<[string, string[]]>): Measurement[] {
  const best: Array<Measurement | undefined> = tasks.map(() => undefined);
  for (let round = 0; round < rounds; round++) {
    tasks.forEach(([task, args], i) => {
      const run = measureInChild(task, args);
      const previous = best[i];
      const peak = Math.max(run.maxRssMb, previous?.maxRssMb ?? 0);
      best[i] = { ...(previous && previous.seconds <= run.seconds ? previous : run), maxRssMb: peak };
    });
  }
  return best as Measurement[];
}
