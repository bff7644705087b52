import { describe, expect, it } from "vitest";
import { type Hole, LineTemplates } from "../../src/collect/fast/line-templates.js";

const ANY = Number.MAX_SAFE_INTEGER;

/** A line `prefix` + `{"t":N,"rest":"..."}` with its one hole, `t`, kept in slot 0. */
function templateLine(name: string, t: number): { text: string; holes: Hole[] } {
  const head = `{"name":"${name}","t":`;
  const text = `${head}${t},"end":true}`;
  return { text, holes: [{ slot: 0, max: ANY, start: head.length, end: head.length + String(t).length }] };
}

/** Names that share long beginnings, end where others go on, and differ in one character. */
const NAMES = [
  ...Array.from({ length: 120 }, (_, i) => `frontend-${i.toString(36)}`),
  ...Array.from({ length: 60 }, (_, i) => `frontend-0-${"x".repeat(i)}`),
  "frontend",
  "frontend-",
  "zürich",
  "zürich✓",
  "z",
  "",
];

describe("LineTemplates", () => {
  const templates = new LineTemplates<string>(10_000);
  for (const name of NAMES) {
    const { text, holes } = templateLine(name, 7);
    templates.learn(text, holes, name);
  }

  it.each(NAMES.map((n) => [n]))(
    "finds the template of %j among all the others, with the line's own integer",
    (name) => {
      const values = [-1];
      expect(templates.match(templateLine(name, 1795132800).text, values)).toBe(name);
      expect(values[0]).toBe(1795132800);
    },
  );

  it.each<[string, string]>([
    ["a name never learned", templateLine("frontend-zz", 1).text],
    ["a learned name cut short", templateLine("zürich", 1).text.replace("ich", "")],
    ["one character changed past the name", templateLine("frontend-1", 1).text.replace('"end"', '"enD"')],
    ["a leading zero in the hole", templateLine("frontend-1", 1).text.replace('"t":1', '"t":01')],
    ["no integer in the hole", templateLine("frontend-1", 1).text.replace('"t":1', '"t":-1')],
    ["text after the end", `${templateLine("frontend-1", 1).text} `],
    ["the end missing", templateLine("frontend-1", 1).text.slice(0, -1)],
  ])("matches nothing for %s", (_what, text) => {
    expect(templates.match(text, [-1])).toBeUndefined();
  });

  it("learns a line seen before in the steps it has, with its new value", () => {
    const small = new LineTemplates<string>(4);
    const a = templateLine("frontend-a", 1);
    for (let i = 0; i < 50; i++) small.learn(a.text, a.holes, `a${i}`);
    const b = templateLine("frontend-b", 1);
    small.learn(b.text, b.holes, "b");
    expect(small.match(templateLine("frontend-a", 2).text, [0])).toBe("a49");
    expect(small.match(templateLine("frontend-b", 2).text, [0])).toBe("b");
  });

  it("starts over when the step limit is reached, and learns again", () => {
    const small = new LineTemplates<string>(8);
    for (const name of NAMES.slice(0, 6)) small.learn(templateLine(name, 1).text, templateLine(name, 1).holes, name);
    const last = NAMES[5] as string;
    expect(small.match(templateLine(last, 2).text, [0])).toBe(last);
    expect(small.match(templateLine(NAMES[0] as string, 2).text, [0])).toBeUndefined();
  });

  it("holds at most its characters whatever the lines' length: it starts over, and skips giant lines", () => {
    const budget = 64 * 1024;
    const small = new LineTemplates<string>(10_000, budget);
    const long = (i: number) => templateLine(`${"p".repeat(600)}-${i}`, 1);
    for (let i = 0; i < 150; i++) small.learn(long(i).text, long(i).holes, `long${i}`);
    // 150 lines of 600-odd characters would be 90 Ki in the tree: the first ones were let go.
    expect(small.match(long(149).text, [0])).toBe("long149");
    expect(small.match(long(0).text, [0])).toBeUndefined();
    const giant = templateLine("g".repeat(budget / 64 + 1), 1);
    small.learn(giant.text, giant.holes, "giant");
    expect(small.match(giant.text, [0])).toBeUndefined();
    expect(small.match(long(149).text, [0])).toBe("long149");
  });
});
