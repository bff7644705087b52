import { createHash } from "node:crypto";

/**
 * Policy names: valid DNS-1123 labels of at most 63 characters, unique per namespace. A name
 * that is too long is cut and gets an 8-character hash of the full name, so two long names
 * never collide by truncation; the direction suffix (`-egress`, `-ingress`) stays at the end.
 * Kubernetes would take 253 characters for a NetworkPolicy; 63 keeps a name usable as a label
 * value too (docs/design.md, "Policies").
 */
export const MAX_NAME = 63;
const HASH_LENGTH = 8;
const KEPT_SUFFIX = /-(egress|ingress)$/;

/** `base` cut to fit `-hash` (and its direction suffix) in MAX_NAME. */
function cutWithHash(base: string, hash: string): string {
  const suffix = KEPT_SUFFIX.exec(base)?.[0] ?? "";
  const stem = base.slice(0, base.length - suffix.length);
  const room = MAX_NAME - hash.length - 1 - suffix.length;
  return `${stem.slice(0, room).replace(/-+$/, "")}-${hash}${suffix}`;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function toDnsLabel(raw: string): string {
  if (raw.length <= MAX_NAME && DNS1123_LABEL.test(raw) && !raw.includes("--")) return raw;
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "");
  const base = cleaned || "policy";
  if (base.length <= MAX_NAME) return base;
  return cutWithHash(base, shortHash(raw));
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
      const hash = shortHash(identity);
      name = name.length + hash.length + 1 <= MAX_NAME ? `${name}-${hash}` : cutWithHash(name, hash);
    }
    for (let i = 2; this.used.has(name); i++) name = toDnsLabel(`${wanted}-${i}`);
    this.used.add(name);
    return name;
  }
}
