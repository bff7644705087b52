import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, UsageError } from "../errors.js";
import type { PolicyFile } from "./policy-set.js";

/** Reads a generated policy folder (`flowpol generate --out DIR`): every file, by posix path. */
export function readPolicyDir(dir: string): PolicyFile[] {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dir);
  } catch {
    throw new UsageError(`--from ${dir} does not exist`, "run `flowpol generate --out DIR` first and pass that DIR");
  }
  if (!stat.isDirectory())
    throw new UsageError(`--from ${dir} is not a folder`, "pass the folder `flowpol generate --out` wrote");
  const files: PolicyFile[] = [];
  const walk = (abs: string, rel: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith(".")) continue;
      const childAbs = join(abs, entry.name);
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink())
        throw new InputError(`${childAbs} is a symbolic link`, undefined, "the policy folder must hold plain files");
      if (entry.isDirectory()) walk(childAbs, childRel);
      else if (entry.isFile()) files.push({ path: childRel, text: readFileSync(childAbs, "utf8") });
    }
  };
  walk(dir, "");
  if (files.length === 0) throw new UsageError(`--from ${dir} is empty`, "run `flowpol generate --out DIR` first");
  return files;
}
