import fc from "fast-check";
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

  it("keeps exactly the newest max keys inserted, whatever the sets, overwrites and clears", () => {
    // The model: the keys in insertion order, the oldest dropped from the front.
    const op = fc.oneof(
      { weight: 12, arbitrary: fc.tuple(fc.constant("set" as const), fc.integer({ min: 0, max: 40 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant("clear" as const), fc.constant(0)) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 300 }), (max, ops) => {
        const m = new BoundedMap<number, number>(max);
        let order: number[] = [];
        const values = new Map<number, number>();
        for (const [i, [kind, key]] of ops.entries()) {
          if (kind === "clear") {
            m.clear();
            order = [];
            values.clear();
            continue;
          }
          m.set(key, i);
          if (!values.has(key)) order.push(key);
          values.set(key, i);
          if (order.length > max) values.delete(order.shift() as number);
        }
        expect(m.size).toBe(order.length);
        for (let key = 0; key <= 40; key++) expect(m.get(key)).toBe(values.get(key));
        expect([...m.values()]).toEqual(order.map((k) => values.get(k)));
      }),
      { numRuns: 300, seed: 15 },
    );
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
