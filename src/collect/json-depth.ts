/** Flow records nest about 6 levels; deeper lines are bad lines, never walked. */
export const MAX_DEPTH = 64;

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
    if (c === 34) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}
