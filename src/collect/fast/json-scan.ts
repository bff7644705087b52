/**
 * The one JSON scanner of the fast paths: where strings, values and members end in a line,
 * without building them. Strings are skipped with native searches for their closing quote (a
 * quote is closing when an even number of backslashes precedes it), everything else one character
 * at a time. The scanners measure text that `JSON.parse` accepts (or that a template proved to
 * have the same structure); the `...End` checks that validate say so.
 */

/** Flow records nest about 6 levels; deeper lines are bad lines, never walked. */
export const MAX_DEPTH = 64;

const QUOTE = 34;
const BACKSLASH = 92;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function skipSpace(text: string, i: number): number {
  while (isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index just past the string whose opening quote is at `i`, or -1 when it does not close. */
export function quotedEnd(text: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/**
 * The index just past the value that starts at `i`: a string, an object or array (to its matching
 * close), or a scalar (to the next delimiter). -1 when a string, object or array does not close.
 */
export function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return quotedEnd(text, i);
  if (c === 123 /* { */ || c === 91 /* [ */) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) {
        j = quotedEnd(text, j) - 1;
        if (j === -2) return -1;
      } else if (d === 123 || d === 91) depth++;
      else if ((d === 125 || d === 93) && --depth === 0) return j + 1;
    }
    return -1;
  }
  let j = i;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === 44 || d === 125 || d === 93 || isSpace(d)) break;
    j++;
  }
  return j;
}

/** Whether the JSON text opens more than `max` arrays and objects inside each other (strings skipped). */
export function nestedDeeperThan(text: string, max: number): boolean {
  // Fewer openings than `max` in all cannot nest deeper (native searches; flow lines have ~20).
  let openings = 0;
  for (let i = text.indexOf("{"); i !== -1 && openings <= max; i = text.indexOf("{", i + 1)) openings++;
  for (let i = text.indexOf("["); i !== -1 && openings <= max; i = text.indexOf("[", i + 1)) openings++;
  if (openings <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = quotedEnd(text, i);
      if (end === -1) return false;
      i = end - 1;
    } else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

/** A top-level member of an object line: its key, where its value is, and whether that is a plain unsigned integer. */
export interface JsonMember {
  key: string;
  start: number;
  end: number;
  isInteger: boolean;
}

function isPlainInteger(text: string, start: number, end: number): boolean {
  if (end === start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * The top-level members of a JSON object line (text that `JSON.parse` accepted). Undefined when
 * the line is not one object with distinct, unescaped keys (a repeated key's last value wins in
 * `JSON.parse`, which positions cannot say).
 */
export function topLevelMembers(text: string): JsonMember[] | undefined {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 123) return undefined;
  i = skipSpace(text, i + 1);
  const members: JsonMember[] = [];
  if (text.charCodeAt(i) === 125) return members;
  const keys = new Set<string>();
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = quotedEnd(text, i);
    if (keyEnd === -1) return undefined;
    const key = text.slice(i + 1, keyEnd - 1);
    if (key.includes("\\") || keys.has(key)) return undefined;
    keys.add(key);
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== 58 /* : */) return undefined;
    const start = skipSpace(text, i + 1);
    const end = valueEnd(text, start);
    if (end === -1) return undefined;
    members.push({ key, start, end, isInteger: isPlainInteger(text, start, end) });
    i = skipSpace(text, end);
    const c = text.charCodeAt(i);
    if (c === 125) return members;
    if (c !== 44) return undefined;
    i = skipSpace(text, i + 1);
  }
}
