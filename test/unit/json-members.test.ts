import { describe, expect, it } from "vitest";
import { topLevelMembers } from "../../src/collect/json-members.js";

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
