import { existsSync, readdirSync } from "node:fs";
import { describe, it } from "vitest";

/**
 * Suites that read ../shared (real captures, reference data, the netpol-analyzer oracle) run
 * where it is and skip, saying why, on a clone without it. CI sets FLOWPOL_REQUIRE_SHARED=1: there
 * a missing path fails the run instead of skipping silently.
 */
const REQUIRED = process.env.FLOWPOL_REQUIRE_SHARED === "1";
const warned = new Set<string>();

/** Why a test reading these paths cannot run here, or undefined when it can. */
export function sharedMissing(paths: readonly string[]): string | undefined {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return undefined;
  const reason = `needs ${missing.join(", ")} (../shared beside the repository, or FLOWPOL_SHARED)`;
  if (REQUIRED) throw new Error(`FLOWPOL_REQUIRE_SHARED=1 but the test ${reason}`);
  if (!warned.has(reason)) {
    warned.add(reason);
    console.warn(`skipping: the test ${reason}`);
  }
  return reason;
}

/** `describe` for a suite that reads `paths`: without them its body never runs and one skipped test says why. */
export function describeWithShared(paths: readonly string[], name: string, fn: () => void): void {
  const missing = sharedMissing(paths);
  if (missing === undefined) describe(name, fn);
  else describe(name, () => it.skip(`skipped: ${missing}`, () => {}));
}

/** `it` for a test that reads `paths`: skipped, with the reason in its name, without them. */
export function itWithShared(paths: readonly string[], name: string, fn: () => void | Promise<void>): void {
  const missing = sharedMissing(paths);
  if (missing === undefined) it(name, fn);
  else it.skip(`${name} (skipped: ${missing})`, fn);
}

/** The files of a ../shared folder whose names end with `suffix` (in readdir order); none when it is absent. */
export function sharedFiles(dir: string, suffix: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)) : [];
}
