import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import { type Batch, sealFlowIds } from "../../src/model/batch.js";
import { openStore } from "../../src/store/db.js";
import { FlowUuids, pruneFlowUuids } from "../../src/store/flow-uuids.js";
import { startIngest } from "../../src/store/ingest-log.js";
import { tempDir } from "../helpers/paths.js";

const tmp = tempDir("flowpol-flow-uuids-");
afterAll(() => tmp.cleanup());

/** A batch whose flows carry these uuids at these times (their counters do not matter here). */
function batch(flows: Array<[string, number]>): Batch {
  const b = new BatchBuilder().build();
  b.flowIds = sealFlowIds({
    uuids: flows.map((f) => f[0]),
    times: flows.map((f) => f[1]),
    counts: flows.map(() => 1),
    parts: flows.map(() => 0),
    contributions: [{ src: 0, dst: 0, edge: -1, service: -1, dnsNames: [], policies: [] }],
  });
  return b;
}

const HOUR = 3600_000;

function newStore(name: string) {
  const db = openStore(join(tmp.dir, name));
  const ingest = startIngest(
    db,
    { source_system: "hubble", kind: "file", path: name, format: "hubble", head_hash: "" },
    0,
  );
  return { db, ingest };
}

describe("recent flow uuids in the store", () => {
  it("finds repeats of stored flows, and of earlier flows among the batches checked together", () => {
    const { db, ingest } = newStore("repeats.db");
    const uuids = new FlowUuids(db);
    db.transaction(() => {
      const drops = uuids.repeats([
        batch([
          ["a", 1000],
          ["b", 2000],
          ["a", 1000],
        ]),
        batch([
          ["b", 2000],
          ["c", 3000],
        ]),
      ]);
      expect(drops.map((d) => [...d])).toEqual([[2], [0]]);
      uuids.record(ingest);
    })();
    // A new writer (another run) reads the stored blocks: same uuid and time is a repeat, another time is not.
    const other = new FlowUuids(db);
    const drops = other.repeats([
      batch([
        ["a", 1000],
        ["c", 3000],
        ["c", 3001],
        ["d", 2500],
      ]),
    ]);
    expect([...(drops[0] ?? [])]).toEqual([0, 1]);
    db.close();
  });

  it("finds repeats in every block a write's times overlap, more blocks than it keeps in memory, cached or read", () => {
    const { db, ingest } = newStore("interleaved.db");
    const writer = new FlowUuids(db);
    // Six writes whose times interleave (an input whose times jump back and forth): every block
    // overlaps every later write, twice as many blocks as a writer keeps in memory.
    for (let w = 0; w < 6; w++) {
      db.transaction(() => {
        const drops = writer.repeats([
          batch(Array.from({ length: 5 }, (_, i) => [`u${w}-${i}`, 1000 * i + w] as [string, number])),
        ]);
        expect(drops.map((d) => d.size)).toEqual([0]);
        writer.record(ingest);
      })();
    }
    // One flow of each block again, among new ones and one at another time; from this writer and from a new one.
    const again: Array<[string, number]> = [];
    for (let w = 0; w < 6; w++) again.push([`new-${w}`, 2000 + w], [`u${w}-2`, 2000 + w], [`u${w}-3`, 3001 + w]);
    const expected = again.flatMap((f, i) => (f[0].startsWith("u") && f[1] === 2000 + Number(f[0][1]) ? [i] : []));
    expect(expected).toHaveLength(6);
    for (const uuids of [writer, new FlowUuids(db)]) {
      db.transaction(() => {
        const drops = uuids.repeats([batch(again.slice(0, 9)), batch(again.slice(9))]);
        expect([...(drops[0] ?? []), ...[...(drops[1] ?? [])].map((i) => i + 9)].sort((x, y) => x - y)).toEqual(
          expected,
        );
      })();
    }
    db.close();
  });

  it("forgets blocks older than the window before the newest flow, and the oldest beyond the cap", () => {
    const { db, ingest } = newStore("window.db");
    const uuids = new FlowUuids(db);
    const store = (flows: Array<[string, number]>) =>
      db.transaction(() => {
        uuids.repeats([batch(flows)]);
        uuids.record(ingest);
      })();
    store([["old", 0]]);
    store([["recent", 5 * HOUR]]);
    store([["newest", 7 * HOUR]]);
    pruneFlowUuids(db, 6 * HOUR, 10);
    const check = (u: string, t: number) => (new FlowUuids(db).repeats([batch([[u, t]])])[0]?.size ?? 0) === 1;
    expect(check("old", 0)).toBe(false);
    expect(check("recent", 5 * HOUR)).toBe(true);
    pruneFlowUuids(db, 6 * HOUR, 1);
    expect(check("recent", 5 * HOUR)).toBe(false);
    expect(check("newest", 7 * HOUR)).toBe(true);
    db.close();
  });
});
