/**
 * Deterministic YAML for Kubernetes objects: top-level keys in the order apiVersion, kind,
 * metadata, spec, then the rest; every nested key sorted; list order kept (the caller sorts);
 * no line folding. `comments` puts a line comment beside matching scalars under a `cidr` key or
 * in a `*CIDR` list (the DNS names beside an ipBlock).
 *
 * A small emitter for the shapes flowpol writes (maps, lists, strings, numbers, booleans): it is
 * many times faster than building a YAML document tree, which matters at thousands of policies.
 * Strings are plain only when they cannot be read as anything else, otherwise JSON-quoted (a
 * valid YAML double-quoted scalar).
 */

const TOP_LEVEL = ["apiVersion", "kind", "metadata", "spec"];
const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./-]*$/;
/** Plain strings YAML 1.1 or 1.2 would read as booleans or null. */
const RESERVED = new Set(
  "~ null Null NULL true True TRUE false False FALSE y Y yes Yes YES n N no No NO on On ON off Off OFF".split(" "),
);
/** Numbers in YAML 1.1 or 1.2 (ints, floats, hex, octal, binary, sexagesimal, .inf/.nan). */
const NUMBERISH =
  /^(?:[-+]?(?:\d[\d_]*)?(?:\.\d*)?(?:[eE][-+]?\d+)?|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|\.(?:inf|Inf|INF|nan|NaN|NAN)|[\d:]+(?:\.\d*)?)$/;

/** A YAML 1.1 timestamp (`2001-12-14`, `2001-12-14t21:59:43.10-05:00`): a date to YAML 1.1 readers. */
const TIMESTAMP = /^\d{4}-\d{1,2}-\d{1,2}(?:$|[Tt\s])/;

function isPlain(s: string): boolean {
  if (!PLAIN.test(s) || RESERVED.has(s)) return false;
  const c = s.charCodeAt(0);
  const numberStart = (c >= 48 && c <= 57) || c === 46;
  return !(numberStart && (NUMBERISH.test(s) || TIMESTAMP.test(s)));
}

export function toYaml(object: Record<string, unknown>, comments: ReadonlyMap<string, string> = new Map()): string {
  const lines: string[] = [];
  writeMap(object, 0, lines, comments, undefined, topLevelKeys(object));
  return `${lines.join("\n")}\n`;
}

/** Several objects as one multi-document YAML stream. */
export function toYamlStream(objects: Array<Record<string, unknown>>): string {
  return objects.map((o) => toYaml(o)).join("---\n");
}

export function yamlScalar(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null || value === undefined) return "null";
  const s = String(value);
  return isPlain(s) ? s : JSON.stringify(s);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isMap(v) && Object.keys(v).length === 0);
}

function inline(v: unknown): string {
  if (Array.isArray(v)) return "[]";
  if (isMap(v)) return "{}";
  return yamlScalar(v);
}

function commentFor(value: unknown, commentable: boolean, comments: ReadonlyMap<string, string>): string {
  if (!commentable) return "";
  const c = comments.get(String(value));
  return c ? ` # ${c}` : "";
}

function writeMap(
  map: Record<string, unknown>,
  indent: number,
  lines: string[],
  comments: ReadonlyMap<string, string>,
  firstPrefix?: string,
  keys: string[] = Object.keys(map).sort(),
): void {
  const pad = " ".repeat(indent);
  let first = true;
  for (const key of keys) {
    const value = map[key];
    if (value === undefined) continue;
    const lead = first && firstPrefix !== undefined ? firstPrefix : pad;
    first = false;
    const k = yamlScalar(key);
    if (isEmpty(value) || (!Array.isArray(value) && !isMap(value))) {
      lines.push(`${lead}${k}: ${inline(value)}${commentFor(value, key === "cidr", comments)}`);
    } else if (Array.isArray(value)) {
      lines.push(`${lead}${k}:`);
      writeList(value, indent + 2, lines, comments, key.endsWith("CIDR"));
    } else {
      lines.push(`${lead}${k}:`);
      writeMap(value, indent + 2, lines, comments);
    }
  }
}

function writeList(
  list: unknown[],
  indent: number,
  lines: string[],
  comments: ReadonlyMap<string, string>,
  commentable: boolean,
): void {
  const pad = " ".repeat(indent);
  for (const item of list) {
    if (isMap(item) && !isEmpty(item)) {
      writeMap(item, indent + 2, lines, comments, `${pad}- `);
    } else if (Array.isArray(item) && !isEmpty(item)) {
      lines.push(`${pad}-`);
      writeList(item, indent + 2, lines, comments, false);
    } else {
      lines.push(`${pad}- ${inline(item)}${commentFor(item, commentable, comments)}`);
    }
  }
}

function topLevelKeys(object: Record<string, unknown>): string[] {
  const first = TOP_LEVEL.filter((k) => k in object);
  return [
    ...first,
    ...Object.keys(object)
      .filter((k) => !TOP_LEVEL.includes(k))
      .sort(),
  ];
}

/** A copy with every map's keys sorted (for JSON output that must match the YAML order). */
export function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = value[k];
      if (v !== undefined) out[k] = sortDeep(v);
    }
    return out;
  }
  return value;
}
