import { createHash } from "node:crypto";

/**
 * Policy names: valid DNS-1123 labels of at most 63 characters, unique per namespace. A name
 * that is too long is cut and ends with an 8-character hash of the full name, so two long names
 * never collide by truncation.
 */
export const MAX_NAME = 63;
const HASH_LENGTH = 8;

export function toDnsLabel(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "");
  const base = cleaned || "policy";
  if (base.length <= MAX_NAME) return base;
  const hash = shortHash(raw);
  return `${base.slice(0, MAX_NAME - HASH_LENGTH - 1).replace(/-+$/, "")}-${hash}`;
}

export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, HASH_LENGTH);
}

/** Hands out unique names in one namespace; a repeated name gets a hash of its identity. */
export class NameAllocator {
  private readonly used = new Set<string>();

  allocate(wanted: string, identity: string): string {
    let name = toDnsLabel(wanted);
    if (this.used.has(name)) {
      const suffix = `-${shortHash(identity)}`;
      name = `${name.slice(0, MAX_NAME - suffix.length).replace(/-+$/, "")}${suffix}`;
    }
    for (let i = 2; this.used.has(name); i++) name = toDnsLabel(`${wanted}-${i}`);
    this.used.add(name);
    return name;
  }
}
