import { describe, expect, it } from "vitest";
import { BoundedLists, BoundedMap } from "../../src/collect/fast/bounded-map.js";

describe("BoundedMap, the one bounded cache", () => {
  it("holds at most max entries, the oldest inserted out first; a hit changes nothing", () => {
    const m = new BoundedMap<string, number>(3);
    for (const [i, k] of ["a", "b", "c"].entries()) m.set(k, i);
    expect(m.get("a")).toBe(0);
    m.set("d", 3);
    expect([m.size, m.get("a"), m.get("b"), m.get("d")]).toEqual([3, undefined, 1, 3]);
    m.set("b", 10);
    expect([m.size, m.get("b"), m.get("c")]).toEqual([3, 10, 2]);
  });
});

describe("BoundedLists", () => {
  it("keeps at most perKey values under a key and maxKeys keys, the oldest out of each", () => {
    const l = new BoundedLists<string, number>(2, 2);
    for (const v of [1, 2, 3]) l.add("ip-1", v);
    expect(l.get("ip-1")).toEqual([2, 3]);
    l.add("ip-2", 4);
    l.add("ip-3", 5);
    expect([l.get("ip-1"), l.get("ip-2"), l.get("ip-3")]).toEqual([undefined, [4], [5]]);
  });
});
