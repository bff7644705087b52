import { describe, expect, it } from "vitest";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import { BatchMerger } from "../../src/collect/merge-batches.js";
import type { Batch } from "../../src/model/batch.js";
import { HOUR_MS, hourOf, hourWindow, UNKNOWN_HOUR } from "../../src/model/edge-hours.js";
import type { Flow } from "../../src/model/flow.js";
import { CART, FRONTEND, flow } from "../helpers/shop-store.js";

/** Per-edge hours: each hour counts as its edge does, batches merge per hour, windows round out. */

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const H10 = hourOf(T0);

const at = (minutes: number, count: number, reporter?: "src" | "dst"): Flow => ({
  ...flow(FRONTEND, CART, "TCP", 7070, { count }),
  time: T0 + minutes * 60_000,
  ...(reporter ? { reporter, sourceSystem: "calico" as const } : {}),
});

function build(flows: Flow[]): Batch {
  const b = new BatchBuilder();
  for (const f of flows) b.addFlow(f);
  return b.build();
}

const hours = (b: Batch) => (b.edges[0]?.hours ?? []).map((h) => [h.hour - H10, h.count]);

describe("edge hours", () => {
  it("count each flow in the hour of its own time, summing to the edge's count", () => {
    const b = build([at(-5, 2), at(10, 3), at(50, 4), at(70, 1)]);
    expect(hours(b)).toEqual([
      [-1, 2],
      [0, 7],
      [1, 1],
    ]);
    expect(b.edges[0]?.count).toBe(10);
  });

  it("count a connection both Calico ends report once per hour, as the edge does", () => {
    const b = build([at(5, 3, "src"), at(6, 3, "dst"), at(65, 2, "dst")]);
    expect(hours(b)).toEqual([
      [0, 3],
      [1, 2],
    ]);
    expect(b.edges[0]?.count).toBe(5);
  });

  it("merge per hour, with the reporter rule, as the store's upserts do", () => {
    const m = new BatchMerger();
    m.add(build([at(5, 3, "src"), at(65, 1, "src")]));
    m.add(build([at(7, 4, "dst"), at(66, 1, "dst")]));
    const merged = m.take();
    // Hour 0: ends 3 and 4, counted once (4); hour 1: ends 1 and 1 (1).
    expect(hours(merged)).toEqual([
      [0, 4],
      [1, 1],
    ]);
    expect(merged.edges[0]?.count).toBe(5);
  });

  it("keep a sum over a span that crosses an hour's end as of an unknown hour (a Goldmane List record)", () => {
    const b = new BatchBuilder();
    b.addFlow(at(50, 6), T0 + 80 * 60_000);
    b.addFlow(at(10, 1), T0 + 20 * 60_000);
    const edge = b.build().edges[0];
    expect(edge?.hours?.map((h) => [h.hour, h.count, h.first, h.last])).toEqual([
      [UNKNOWN_HOUR, 6, T0 + 50 * 60_000, T0 + 80 * 60_000],
      [H10, 1, T0 + 10 * 60_000, T0 + 20 * 60_000],
    ]);
  });

  it("round a window out to whole hours", () => {
    const w = hourWindow(T0 + 30 * 60_000, T0 + 75 * 60_000);
    expect([w.fromHour - H10, w.toHour - H10, w.since, w.until]).toEqual([0, 1, T0, T0 + 2 * HOUR_MS - 1]);
    expect(hourWindow(T0, T0)).toMatchObject({ since: T0, until: T0 + HOUR_MS - 1 });
  });
});
