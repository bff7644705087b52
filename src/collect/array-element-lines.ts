/**
 * The 1-based line on which each element of a JSON array document starts, in order: bad elements
 * of a pretty-printed array are reported at their own first line, not the array's. The text must
 * already have parsed as JSON; a document that is not an array has one element, at its first line.
 */
export function arrayElementLines(text: string): number[] {
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectValue = false;
  let sawArray = false;
  const lines: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      continue;
    }
    if (inString) {
      if (c === 92)
        i++; // a backslash escapes the next character (never a newline in valid JSON)
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) continue;
    if (depth === 0 && !sawArray) {
      if (c !== 91) return [line];
      sawArray = true;
      depth = 1;
      expectValue = true;
      continue;
    }
    if (depth === 1 && expectValue && c !== 93) {
      lines.push(line);
      expectValue = false;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) depth--;
    else if (c === 44 && depth === 1) expectValue = true;
  }
  return lines;
}
