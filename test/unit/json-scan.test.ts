import { describe, expect, it } from "vitest";
import { nestedDeeperThan, topLevelMembers, valueEnd } from "../../src/collect/fast/json-scan.js";

function summary(text: string) {
  return topLevelMembers(text)?.map((m) => `${m.key}=${text.slice(m.start, m.end)}${m.isInteger ? " (integer)" : ""}`);
}

describe("topLevelMembers", () => {
  it.each<[string, string, string[] | undefined]>([
    [
      "integers and other values",
      '{"a":1,"b":-2,"c":2.5,"d":"3","e":null}',
      ["a=1 (integer)", "b=-2", "c=2.5", 'd="3"', "e=null"],
    ],
    [
      "nested values, whose integers are not top-level",
      '{"o":{"n":1,"l":[2,{"m":3}]},"z":0}',
      ['o={"n":1,"l":[2,{"m":3}]}', "z=0 (integer)"],
    ],
    ["escaped quotes and brackets inside strings", '{"s":"a\\"}],\\\\","t":7}', ['s="a\\"}],\\\\"', "t=7 (integer)"]],
    ["key text inside a string value", '{"s":"\\"t\\":9","t":8}', ['s="\\"t\\":9"', "t=8 (integer)"]],
    ["spaces around the punctuation", '{ "a" : 12 , "b" : [ 1 ] }', ["a=12 (integer)", "b=[ 1 ]"]],
    ["an empty object", "{}", []],
    ["a repeated key (JSON.parse keeps the last)", '{"a":1,"a":2}', undefined],
    ["an escaped key", '{"\\u0061":1}', undefined],
    ["an array", "[1,2]", undefined],
  ])("reads %s", (_what, text, expected) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(summary(text)).toEqual(expected);
  });
});

describe("valueEnd and nestedDeeperThan (the fast paths' one scanner)", () => {
  it.each<[string, string, number]>([
    ["an object with quotes and brackets in strings", '{"a":"}\\"]","b":[1,{}]} tail', 23],
    ["a string ending in an escaped backslash", '"a\\\\" tail', 5],
    ["a scalar", "123,", 3],
    ["an object that does not close", '{"a":[1,2}', -1],
    ["a string that does not close", '"abc', -1],
  ])("measures %s", (_what, text, end) => {
    expect(valueEnd(text, 0)).toBe(end);
  });

  it("tells nesting deeper than the limit, and not brackets inside strings", () => {
    const deep = `${"[".repeat(70)}${"]".repeat(70)}`;
    expect(nestedDeeperThan(deep, 64)).toBe(true);
    expect(nestedDeeperThan(`${"[".repeat(64)}${"]".repeat(64)}`, 64)).toBe(false);
    expect(nestedDeeperThan(`{"s":"${"[".repeat(100)}"}`, 64)).toBe(false);
    const wide = `[${Array.from({ length: 100 }, () => "[]").join(",")}]`;
    expect(nestedDeeperThan(wide, 64)).toBe(false);
  });
});
