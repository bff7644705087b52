import { describe, expect, it } from "vitest";
import { WindowDedup } from "../../src/collect/goldmane/dedup.js";

describe("WindowDedup", () => {
  it.each<[string, ConstructorParameters<typeof WindowDedup>[0], Array<[number, string, boolean]>]>([
    [
      "a fresh run: the first of each (window, key) is new",
      undefined,
      [
        [100, "a", false],
        [100, "a", true],
        [85, "a", false],
        [115, "b", false],
        [85, "a", true],
      ],
    ],
    [
      "after an earlier run: older windows and the stored keys of its latest window are known",
      { start: 100, keys: ["a"] },
      [
        [85, "z", true],
        [100, "a", true],
        [100, "b", false],
        [100, "b", true],
        [115, "a", false],
      ],
    ],
  ])("%s", (_what, stored, steps) => {
    const dedup = new WindowDedup(stored);
    for (const [start, key, seen] of steps) expect([start, key, dedup.seen(start, key)]).toEqual([start, key, seen]);
  });

  it("gives the latest window and its keys as the cursor to store", () => {
    const dedup = new WindowDedup({ start: 100, keys: ["a"] });
    expect([dedup.resumeFrom, dedup.latestKeys]).toEqual([100, ["a"]]);
    dedup.seen(100, "b");
    expect(dedup.latestKeys).toEqual(["a", "b"]);
    dedup.seen(115, "c");
    dedup.seen(100, "d");
    expect([dedup.resumeFrom, dedup.latestKeys]).toEqual([115, ["c"]]);
    expect(new WindowDedup().latestKeys).toEqual([]);
  });
});
