import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { CLI, REPO_ROOT } from "./helpers/paths.js";

/**
 * The e2e tests run the CLI from dist/: build it once before any test when a source file is newer
 * than dist/cli/main.js (or dist/ is missing), so no test runs a stale build.
 */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const sources = Math.max(newestSource(join(REPO_ROOT, "src")), statSync(join(REPO_ROOT, "tsconfig.json")).mtimeMs);
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= sources) return;
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(REPO_ROOT, "tsconfig.build.json")], { stdio: "inherit" });
}
