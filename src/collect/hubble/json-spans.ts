/** Where one value sits in a JSON text: its key path and its [start, end) span. */
export interface ValueSpan {
  keys: string[];
  start: number;
  end: number;
}

/**
 * The spans of the values of a valid JSON text down to `maxDepth` levels of object keys (nothing
 * inside an array is reported). The text must already have passed `JSON.parse`: this scanner does not
 * validate, it only measures.
 */
export function valueSpans(text: string, maxDepth: number): ValueSpan[] {
  const spans: ValueSpan[] = [];
  const keys: string[] = [];
  let arrays = 0;
  let i = 0;

  const skipSpace = () => {
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
    }
  };
  const string = (): string => {
    const start = ++i;
    let escaped = false;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 92 /* \ */) {
        escaped = true;
        i++;
      } else if (c === 34 /* " */) {
        break;
      }
    }
    const raw = text.slice(start, i++);
    return escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  };
  const value = (inArray: boolean): void => {
    skipSpace();
    const start = i;
    const c = text.charCodeAt(i);
    if (c === 123 /* { */ || c === 91 /* [ */) {
      const close = c === 123 ? 125 : 93;
      i++;
      skipSpace();
      if (text.charCodeAt(i) === close) {
        i++;
      } else {
        for (;;) {
          skipSpace();
          if (c === 123) {
            keys.push(string());
            skipSpace();
            i++; // :
            value(false);
            keys.pop();
          } else {
            arrays++;
            value(true);
            arrays--;
          }
          skipSpace();
          if (text.charCodeAt(i++) === close) break;
        }
      }
    } else if (c === 34) {
      string();
    } else {
      for (; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) break;
      }
    }
    if (!inArray && arrays === 0 && keys.length > 0 && keys.length <= maxDepth)
      spans.push({ keys: [...keys], start, end: i });
  };
  value(false);
  return spans;
}
