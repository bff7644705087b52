/** Small readers for untrusted parsed JSON (and generated protobuf messages, whose int64 are bigint). */

export type Json = Record<string, unknown>;

export function asObject(v: unknown): Json | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
}

export function asString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** A whole number from a JSON number, a decimal string (protobuf-JSON int64) or a bigint. */
export function asInteger(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && /^-?\d{1,16}$/.test(v)) return Number(v);
  return undefined;
}

/** A field by its proto name or its lowerCamel JSON name. */
export function field(obj: Json, protoName: string, camelName: string): unknown {
  const v = obj[protoName];
  return v !== undefined ? v : obj[camelName];
}

/** Calico writes `"-"` (and Goldmane may leave `""`) for "not included". */
export function present(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" && v !== "-" ? v : undefined;
}
