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

/** Where one value sits in a JSON text: its key path and its [start, end) span. */
export interface ValueSpan {
  keys: string[];
  start: number;
  end: number;
}

/**
 * The spans of the values of a valid JSON text down to `maxDepth` levels of object keys (nothing
 * inside an array is reported). The text must already have passed `JSON.parse`.
 */
export function valueSpans(text: string, maxDepth: number): ValueSpan[] {
  const spans: ValueSpan[] = [];
  const keys: string[] = [];
  let arrays = 0;
  let i = 0;

  const key = (): string => {
    const end = quotedEnd(text, i);
    const raw = text.slice(i + 1, end - 1);
    i = end;
    return raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
  };
  const value = (inArray: boolean): void => {
    i = skipSpace(text, i);
    const start = i;
    const c = text.charCodeAt(i);
    if (c === 123 /* { */ || c === 91 /* [ */) {
      const close = c === 123 ? 125 : 93;
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === close) {
        i++;
      } else {
        for (;;) {
          i = skipSpace(text, i);
          if (c === 123) {
            keys.push(key());
            i = skipSpace(text, i) + 1; // :
            value(false);
            keys.pop();
          } else {
            arrays++;
            value(true);
            arrays--;
          }
          i = skipSpace(text, i);
          if (text.charCodeAt(i++) === close) break;
        }
      }
    } else {
      i = valueEnd(text, i);
    }
    if (!inArray && arrays === 0 && keys.length > 0 && keys.length <= maxDepth)
      spans.push({ keys: [...keys], start, end: i });
  };
  value(false);
  return spans;
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

/**
 * The index of the `"` that closes a string whose text starts at `start`, or -1 when the text
 * holds an escape or a control character first (then it is not a plain string).
 */
export function plainStringEnd(line: string, start: number): number {
  for (let i = start; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c < 32 || c === BACKSLASH) return -1;
  }
  return -1;
}

/** `" \ / b f n r t` */
const SIMPLE_ESCAPES = new Set([34, 92, 47, 98, 102, 110, 114, 116]);
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * The index just past the JSON string starting at `start` (a `"`), or -1 when it is not a valid
 * JSON string: an unknown escape, or a raw control character. Validates, unlike `quotedEnd`.
 */
export function jsonStringEnd(line: string, start: number): number {
  for (let i = start + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c < 32) return -1;
    if (c === BACKSLASH) {
      const e = line.charCodeAt(++i);
      if (e === 117 /* u */) {
        if (!HEX4.test(line.slice(i + 1, i + 5))) return -1;
        i += 4;
      } else if (!SIMPLE_ESCAPES.has(e)) {
        return -1;
      }
    }
  }
  return -1;
}

/** The index just past the JSON unsigned integer at `start` (no leading zero), or -1. */
export function unsignedEnd(line: string, start: number): number {
  let i = start;
  while (i < line.length && line.charCodeAt(i) >= 48 && line.charCodeAt(i) <= 57) i++;
  if (i === start || (i - start > 1 && line.charCodeAt(start) === 48)) return -1;
  return i;
}
