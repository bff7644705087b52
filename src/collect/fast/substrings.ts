/**
 * String helpers for the line templates (`line-templates.ts`), which compare and keep pieces of
 * the lines they read.
 */

/** Below this length `startsWith` is the faster test; above it V8 compares a slice as a block. */
const SLICE_COMPARE = 24;

/** Whether `text` holds `literal` at `pos` (`text.startsWith(literal, pos)`, whichever way is faster). */
export function textAt(text: string, pos: number, literal: string): boolean {
  return literal.length < SLICE_COMPARE
    ? text.startsWith(literal, pos)
    : text.slice(pos, pos + literal.length) === literal;
}

/**
 * A compact copy of a substring, to keep. V8 keeps a long substring as a view of the string it
 * was cut from: a kept view would keep the whole chunk of lines alive.
 */
export function detached(text: string): string {
  // Slicing a concatenation flattens it into a new string first: the result keeps only that.
  return ` ${text}`.slice(1);
}
