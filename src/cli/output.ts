import type { Writable } from "node:stream";

/** Where a command writes: injected so tests capture output without touching process streams. */
export interface Output {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}

export function processOutput(): Output {
  return { stdout: process.stdout, stderr: process.stderr };
}

export function writeLine(stream: Writable, line = ""): void {
  stream.write(`${line}\n`);
}
