import { toBinary } from "@bufbuild/protobuf";
import { type Flow, FlowKeySchema, FlowSchema } from "../../gen/goldmane/goldmane_pb.js";

/**
 * One read of Goldmane's `List` over a range, put together from pages that do not hold still.
 * Goldmane sorts by start time only and returns ties in a random order on every call, so a page
 * boundary inside a run of equal start times cuts it differently each time: one read of every page
 * can repeat some records and miss others. Records are one per flow key, so the read keeps them by
 * key: a repeated record is dropped, and pages whose edges fall inside a tie are read again until
 * every key counted in `totalResults` is in. A key that comes back with a different record, or a
 * total that changes, means the range itself moved (a relative bound crossed a window, or the oldest
 * window expired): the read is void and starts over.
 *
 * Invariant: when `complete`, `records` holds exactly one record per key of one state of the range.
 */

export function flowKeyId(flow: Flow): string {
  return flow.Key ? Buffer.from(toBinary(FlowKeySchema, flow.Key)).toString("base64") : "";
}

export interface ListPage {
  flows: Flow[];
  totalPages: number;
  totalResults: number;
}

export class ListRead {
  private readonly byKey = new Map<string, { flow: Flow; bytes: string }>();
  /** The latest answer for each page, to find boundaries that fall inside a tie. */
  private readonly pages = new Map<number, Flow[]>();
  private total: number | undefined;
  private pageCount = 0;
  /** Set when the range changed under the read. */
  moved = false;
  /** Records received again and dropped. */
  repeats = 0;

  add(page: number, answer: ListPage): void {
    if (this.total === undefined) {
      this.total = answer.totalResults;
      this.pageCount = answer.totalPages;
    } else if (answer.flows.length > 0 && answer.totalResults !== this.total) {
      this.moved = true;
    }
    this.pages.set(page, answer.flows);
    for (const flow of answer.flows) {
      const key = flowKeyId(flow);
      const bytes = Buffer.from(toBinary(FlowSchema, flow)).toString("base64");
      const known = this.byKey.get(key);
      if (!known) this.byKey.set(key, { flow, bytes });
      else if (known.bytes === bytes) this.repeats++;
      else this.moved = true;
    }
  }

  get totalPages(): number {
    return this.pageCount;
  }

  get complete(): boolean {
    return !this.moved && this.total !== undefined && this.byKey.size === this.total;
  }

  get missing(): number {
    return Math.max(0, (this.total ?? 0) - this.byKey.size);
  }

  get records(): Flow[] {
    return [...this.byKey.values()].map((r) => r.flow);
  }

  /** Pages that share a start time with a neighbour: the only ones whose content can change. */
  unsettledPages(): number[] {
    const out: number[] = [];
    const start = (f: Flow | undefined) => (f ? f.startTime : undefined);
    for (let p = 0; p < this.pageCount; p++) {
      const flows = this.pages.get(p);
      if (!flows) {
        out.push(p);
        continue;
      }
      const before = start(this.pages.get(p - 1)?.at(-1));
      const after = start(this.pages.get(p + 1)?.[0]);
      if (
        (before !== undefined && before === start(flows[0])) ||
        (after !== undefined && after === start(flows.at(-1)))
      ) {
        out.push(p);
      }
    }
    return out;
  }
}
