import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/**
 * ../shared beside the repository: real captures and reference data (never copied in). A git
 * worktree one level deeper (wt/issue-N) finds it at ../../shared; FLOWPOL_SHARED overrides.
 */
export const SHARED =
  process.env.FLOWPOL_SHARED ??
  [resolve(REPO_ROOT, "../shared"), resolve(REPO_ROOT, "../../shared")].find((p) => existsSync(p)) ??
  resolve(REPO_ROOT, "../shared");
export const SHARED_HUBBLE = join(SHARED, "data/hubble");
export const SHARED_CALICO = join(SHARED, "data/calico");
export const CLI = join(REPO_ROOT, "dist/cli/main.js");

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "flowpol-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
