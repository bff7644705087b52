/**
 * The one place values become SQL text. ClickHouse 18.16 has no server-side query parameters, so
 * values are escaped here, client-side: strings as single-quoted literals with every backslash,
 * quote and control byte escaped; numbers only when they are safe integers. Identifiers (database,
 * cluster, table names) are plain names checked by `parseClickHouseUrl`, quoted with backquotes.
 */
export function literal(value: string | number): string {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not a safe integer for SQL: ${value}`);
    return String(value);
  }
  let out = "'";
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}'`;
}

/** A list of literals for `IN (...)`; an empty list matches nothing. */
export function literalList(values: Iterable<string | number>): string {
  const items = [...values].map(literal);
  return items.length === 0 ? "(NULL)" : `(${items.join(", ")})`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new TypeError(`not a plain SQL identifier: ${name}`);
  return `\`${name}\``;
}
