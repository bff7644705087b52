import { Writable } from "node:stream";
import { run } from "../../src/cli/main.js";

/** Runs the CLI in this process (for tables of many cases, where a child process each is too slow). */
export async function runInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        append(String(chunk));
        cb();
      },
    });
  const out = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) };
  const code = await run(args, out);
  return { code, stdout, stderr };
}
