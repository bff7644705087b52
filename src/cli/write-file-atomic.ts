import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.js";

/** Writes a file whole or not at all: a temporary file in the same folder, then a rename. */
export function writeFileAtomic(path: string, text: string, flag = "--out"): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot write ${path}: ${code ?? (err as Error).message}`,
      `check that the folder of ${flag} exists and is writable`,
      {
        cause: err,
      },
    );
  }
}
