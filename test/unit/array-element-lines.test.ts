import { describe, expect, it } from "vitest";
import { arrayElementLines } from "../../src/collect/array-element-lines.js";

describe("arrayElementLines", () => {
  it.each([
    ["a pretty-printed array", JSON.stringify([{ a: 1 }, { b: [1, 2] }, 3], null, 2), [2, 5, 11]],
    ["a one-line array", '[{"a":1},{"b":2}]', [1, 1]],
    ["strings holding brackets, commas and escaped quotes", '[\n"a,[\\"]",\n{"x":"}{,"}\n]', [2, 3]],
    ["an empty array", "[\n]", []],
    ["a document that is not an array", '\n\n{"flow":{}}', [3]],
    ["CRLF line ends", '[\r\n  {"a":1},\r\n  {"b":2}\r\n]', [2, 3]],
  ])("finds each element's first line in %s", (_name, text, lines) => {
    JSON.parse(text);
    expect(arrayElementLines(text)).toEqual(lines);
  });
});
