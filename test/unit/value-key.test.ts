import { describe, expect, it } from "vitest";
import { valueKey } from "../../src/collect/fast/value-key.js";

describe("valueKey, the key of parsed record values", () => {
  it("tells apart what JSON.stringify alone would not", () => {
    const keys = [
      [undefined],
      [null],
      [""],
      ["a\u0000b"],
      ["a", "b"],
      [["a", "b"]],
      [{ labels: ["a"] }],
      [{ labels: null }],
      [1],
      ["1"],
    ].map((v) => valueKey(v));
    expect(keys.every((k) => k !== undefined)).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    expect(valueKey(["x", { a: ["b"] }])).toBe(valueKey(["x", { a: ["b"] }]));
  });

  it.each([
    ["-0", [-0]],
    ["an infinity", [Number.POSITIVE_INFINITY]],
    ["a boolean", [true]],
    ["a bigint", [1n]],
    ["a boolean in a list", [["a", false]]],
    ["values nested deeper than asked", [{ a: { b: ["c"] } }]],
  ])("gives no key for %s (converted each time)", (_what, values) => {
    expect(valueKey(values)).toBeUndefined();
  });
});
