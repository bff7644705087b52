import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ListRead } from "../../src/collect/goldmane/list-pages.js";
import { type Flow, FlowSchema } from "../../src/gen/goldmane/goldmane_pb.js";

/** A List record of one key (told apart by its source name) starting at `start`. */
function record(name: string, start: number, started = 1): Flow {
  return create(FlowSchema, {
    Key: { sourceName: name },
    startTime: BigInt(start),
    endTime: BigInt(start + 15),
    numConnectionsStarted: BigInt(started),
  });
}

const page = (flows: Flow[], totalResults: number, totalPages: number) => ({ flows, totalResults, totalPages });
const names = (read: ListRead) => read.records.map((f) => f.Key?.sourceName).sort();

describe("ListRead", () => {
  it("one page is complete by itself", () => {
    const read = new ListRead();
    read.add(0, page([record("a", 30), record("b", 15)], 2, 1));
    expect([read.complete, names(read)]).toEqual([true, ["a", "b"]]);
  });

  it("a tie cut by a page boundary: the repeated record is dropped, the missing one is asked for again", () => {
    // Sorted newest first: a(45) then b, c, d tied at 15. The tie crosses the boundary of pages of 2.
    const read = new ListRead();
    read.add(0, page([record("a", 45), record("b", 15)], 4, 2));
    read.add(1, page([record("b", 15), record("c", 15)], 4, 2));
    expect([read.complete, read.missing, read.repeats]).toEqual([false, 1, 1]);
    expect(read.unsettledPages()).toEqual([0, 1]);
    read.add(1, page([record("d", 15), record("c", 15)], 4, 2));
    expect([read.complete, names(read)]).toEqual([true, ["a", "b", "c", "d"]]);
  });

  it("pages whose edges are not inside a tie are settled", () => {
    const read = new ListRead();
    read.add(0, page([record("a", 60), record("b", 45)], 4, 2));
    read.add(1, page([record("c", 30), record("d", 15)], 4, 2));
    expect(read.unsettledPages()).toEqual([]);
    expect(read.complete).toBe(true);
  });

  it("a key that comes back with other counts, or a total that changes, means the range moved", () => {
    const changed = new ListRead();
    changed.add(0, page([record("a", 30), record("b", 15)], 3, 2));
    changed.add(1, page([record("b", 15, 2)], 3, 2));
    expect([changed.moved, changed.complete]).toEqual([true, false]);

    const grown = new ListRead();
    grown.add(0, page([record("a", 30), record("b", 15)], 3, 2));
    grown.add(1, page([record("c", 15), record("e", 0)], 4, 2));
    expect([grown.moved, grown.complete]).toEqual([true, false]);
  });
});
