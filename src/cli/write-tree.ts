import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { InternalError, UsageError } from "../errors.js";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../model/labels.js";

/**
 * Writes generated files under `outDir`, each atomically (a temp file in the same folder, then a
 * rename), never outside `outDir`. Files a previous run generated in the same folders and that
 * are no longer part of the output are removed (only files flowpol recognises as its own).
 */
export function writeTree(
  outDir: string,
  files: Array<{ path: string; content: string }>,
): { written: number; removed: string[] } {
  const root = resolve(outDir);
  try {
    makeDirs(root);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(
      `cannot create the output folder ${outDir}: ${why}`,
      "point --out at a folder you can write (its parent must exist or be creatable)",
      { cause: err },
    );
  }
  if (!statSync(root).isDirectory()) throw new UsageError(`${outDir} is not a folder`, "point --out at a folder");
  const targets = files.map((f) => {
    const target = resolve(root, f.path);
    const rel = relative(root, target);
    if (isAbsolute(f.path) || rel.startsWith("..") || rel === "" || isAbsolute(rel)) {
      throw new InternalError(`refusing to write ${f.path} outside ${outDir}`);
    }
    refuseLinks(root, rel, outDir);
    return { target, content: f.content };
  });
  const keep = new Set(targets.map((t) => t.target));
  let written = 0;
  for (const t of targets) {
    makeDirs(dirname(t.target));
    let same = false;
    try {
      same = readFileSync(t.target, "utf8") === t.content;
    } catch {
      same = false;
    }
    if (same) continue;
    const tmp = `${t.target}.tmp-${process.pid}`;
    writeFileSync(tmp, t.content);
    renameSync(tmp, t.target);
    written++;
  }
  const removed: string[] = [];
  const folders = new Set(targets.map((t) => dirname(t.target)));
  for (const folder of folders) {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (keep.has(path) || !name.endsWith(".yaml") || lstatSync(path).isSymbolicLink()) continue;
      let text = "";
      try {
        text = readFileSync(path, "utf8");
      } catch {
        continue;
      }
      if (text.includes(`${MANAGED_BY_LABEL}: ${MANAGED_BY_VALUE}`)) {
        rmSync(path);
        removed.push(relative(root, path).split(sep).join("/"));
      }
    }
  }
  return { written, removed: removed.sort() };
}

/**
 * `mkdir -p`, one folder at a time from the deepest one that exists. Node's own recursive mkdir
 * never returns where the kernel answers ENOENT for a parent that exists (`/proc/x`): this fails.
 */
export function makeDirs(path: string): void {
  const missing: string[] = [];
  let current = resolve(path);
  while (!existsSync(current)) {
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const dir of missing) mkdirSync(dir);
}

/**
 * A symlink at or above a file under `root` would make the write land elsewhere (a folder link
 * `shop -> /etc`) or replace the user's link: refused before anything is written. `root` itself
 * may be a link: the user named it.
 */
function refuseLinks(root: string, rel: string, outDir: string): void {
  let path = root;
  for (const part of rel.split(sep)) {
    path = join(path, part);
    let link = false;
    try {
      link = lstatSync(path).isSymbolicLink();
    } catch {
      return;
    }
    if (link) {
      throw new UsageError(
        `${join(outDir, relative(root, path))} is a symlink: flowpol does not write through links`,
        "remove the link (or point --out at a folder without links)",
      );
    }
  }
}
