/**
 * A string from a flow record (a node name, a drop reason, a peer's name) as Markdown text: it
 * reads as itself and can make no link, image, HTML, code or table cell. Strings of name
 * characters (letters, digits, `. - / : , =`, and spaces or `_`) are already that and stay as they
 * are; in any other, every character Markdown or HTML gives a meaning inline is backslash-escaped
 * (CommonMark allows it for any ASCII punctuation) and line breaks become spaces.
 */
export function markdownText(s: string): string {
  if (SAFE.test(s)) return s;
  return s.replace(/[\r\n]+/g, " ").replace(/[\\`*_{}[\]()#+!<>|~&]/g, "\\$&");
}

/** Name characters, with `_` only in strings without spaces (enum names such as POLICY_DENIED). */
const SAFE = /^(?:[A-Za-z0-9.\-/:,= ]*|[A-Za-z0-9_.\-/:,=]*)$/;
