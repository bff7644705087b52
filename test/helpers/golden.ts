import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect } from "vitest";

/**
 * Compares text with a golden file. `UPDATE_GOLDEN=1 npm test` rewrites golden files; otherwise a
 * mismatch writes `<file>.actual` beside it and fails naming both.
 */
export function expectGolden(actual: string, goldenPath: string): void {
  const actualPath = `${goldenPath}.actual`;
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(goldenPath), { recursive: true });
    writeFileSync(goldenPath, actual);
    rmSync(actualPath, { force: true });
    return;
  }
  if (!existsSync(goldenPath)) {
    writeFileSync(actualPath, actual);
    throw new Error(
      `golden file ${goldenPath} is missing; wrote ${actualPath}. Run UPDATE_GOLDEN=1 npm test to create it.`,
    );
  }
  const expected = readFileSync(goldenPath, "utf8");
  if (expected !== actual) writeFileSync(actualPath, actual);
  else rmSync(actualPath, { force: true });
  expect(actual, `output differs from ${goldenPath} (actual written to ${actualPath})`).toBe(expected);
}
