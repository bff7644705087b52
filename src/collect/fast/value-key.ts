/**
 * A key for parsed record values that tells different values apart, so a cache keyed by it
 * converts the same values only once, exactly. Values count when they are made of strings, null,
 * finite numbers other than -0, and lists and objects of them down to `depth` levels; an absent
 * value (undefined) is told apart from null. Anything else (booleans, -0, which `JSON.stringify`
 * writes as 0, infinities, which it writes as null, bigints, deeper nesting) gives no key: the
 * caller converts those values each time.
 *
 * One-to-one because `JSON.stringify` is on such values (key order kept: objects whose keys come
 * in another order get another key, a miss and never a wrong hit), and its text never holds a raw
 * NUL, which separates the values.
 */
export function valueKey(values: readonly unknown[], depth = 2): string | undefined {
  const parts: string[] = [];
  for (const v of values) {
    if (v === undefined) parts.push("");
    else if (keyable(v, depth)) parts.push(JSON.stringify(v));
    else return undefined;
  }
  return parts.join("\u0000");
}

function keyable(v: unknown, depth: number): boolean {
  if (v === null || typeof v === "string") return true;
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
  if (depth === 0 || typeof v !== "object") return false;
  for (const item of Array.isArray(v) ? v : Object.values(v)) if (!keyable(item, depth - 1)) return false;
  return true;
}
