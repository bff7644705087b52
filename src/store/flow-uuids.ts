import type { Batch } from "../model/batch.js";
import type { Db } from "./db.js";

/**
 * Recently stored flow uuids, so a flow read again from another input (overlapping exports,
 * rotated and copied logs, a collector re-reading Relay's window) counts once. A repeat is a flow
 * with the same uuid and the same time (ms) as one stored within the window.
 *
 * The uuids are kept in blocks, one per write (a block holds the uuids and times of the flows that
 * write stored, and their time span), so storing them costs one row per write; a write reads only
 * the blocks whose span overlaps its flows' times. The window: blocks whose newest flow is more
 * than `UUID_WINDOW_MS` older than the newest flow stored are pruned, and the oldest blocks beyond
 * `MAX_UUIDS` uuids in all. A repeat of a flow older than that is counted again.
 *
 * Every method runs inside the write transaction of the batches it checks, so two runs storing
 * overlapping inputs at once see each other's blocks.
 */
export const UUID_WINDOW_MS = 6 * 60 * 60 * 1000;
export const MAX_UUIDS = 2_000_000;
/** Blocks whose flows are kept in memory between writes (the latest written, or found again). */
const CACHED_BLOCKS = 3;
/** Writes between two prunings. */
const PRUNE_EVERY = 32;

/** A block's flows: uuids and times, in parallel. */
interface BlockFlows {
  uuids: readonly string[];
  times: readonly number[];
}

/**
 * Where flows are among parallel arrays of uuids and times, found by uuid and time; the rare same
 * uuid at another time (not a repeat) is kept under a key that holds the time too. No key string
 * is built per flow.
 */
class UuidTimes {
  private readonly at = new Map<string, number>();

  constructor(private readonly times: readonly number[]) {}

  /** The position of the flow with this uuid and time, if any. */
  find(uuid: string, time: number): number | undefined {
    const k = this.at.get(uuid);
    if (k === undefined || this.times[k] === time) return k;
    return this.at.get(`${time} ${uuid}`);
  }

  /** Adds the flow at position `k`, whose uuid and time `find` does not know yet. */
  add(uuid: string, k: number): void {
    if (!this.at.has(uuid)) this.at.set(uuid, k);
    else this.at.set(`${this.times[k]} ${uuid}`, k);
  }
}

export class FlowUuids {
  private readonly cache = new Map<number, BlockFlows>();
  private readonly overlapping;
  private readonly load;
  private readonly insert;
  private writes = 0;
  /** The flows kept by the last `repeats`, written by `record`. */
  private pending: (BlockFlows & { first: number; last: number }) | undefined;

  constructor(private readonly db: Db) {
    this.overlapping = db.prepare("SELECT id FROM flow_uuid_blocks WHERE last >= ? AND first <= ?");
    this.load = db.prepare("SELECT keys FROM flow_uuid_blocks WHERE id = ?");
    this.insert = db.prepare(
      "INSERT INTO flow_uuid_blocks (first, last, entries, ingest_id, keys) VALUES (?, ?, ?, ?, ?) RETURNING id",
    );
  }

  /**
   * For each batch, the indexes (into its `flowIds`) of the flows that repeat a stored flow or an
   * earlier flow of these batches. The others are remembered for `record`.
   *
   * The flows of the batches are gathered first (each uuid and time once), then each block that
   * overlaps their times is taken once, from memory (the last few written) or read, and its flows
   * looked up among them: an input whose times jump back and forth (every write overlapping every
   * block of the window) holds one block read at a time, not all of them.
   */
  repeats(batches: readonly Batch[]): Array<Set<number>> {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const b of batches) {
      for (const t of b.flowIds?.times ?? []) {
        if (t < first) first = t;
        if (t > last) last = t;
      }
    }
    this.pending = undefined;
    const drops = batches.map(() => new Set<number>());
    if (first > last) return drops;
    const uuids: string[] = [];
    const times: number[] = [];
    /** Where each of those flows is: its batch, then its index in the batch's `flowIds`. */
    const from: number[] = [];
    const fresh = new UuidTimes(times);
    batches.forEach((b, bi) => {
      const ids = b.flowIds;
      if (!ids) return;
      for (let i = 0; i < ids.uuids.length; i++) {
        const uuid = ids.uuids[i] as string;
        const time = ids.times[i] as number;
        if (fresh.find(uuid, time) !== undefined) {
          drops[bi]?.add(i);
          continue;
        }
        times.push(time);
        fresh.add(uuid, uuids.length);
        uuids.push(uuid);
        from.push(bi, i);
      }
    });
    const stored = this.storedAmong(fresh, first, last);
    const kept = { uuids: [] as string[], times: [] as number[] };
    for (let k = 0; k < uuids.length; k++) {
      if (stored.has(k)) drops[from[2 * k] as number]?.add(from[2 * k + 1] as number);
      else {
        kept.uuids.push(uuids[k] as string);
        kept.times.push(times[k] as number);
      }
    }
    if (kept.uuids.length > 0) this.pending = { ...kept, first, last };
    return drops;
  }

  /** The positions of the flows (`fresh` finds them) that a stored block holds. */
  private storedAmong(fresh: UuidTimes, first: number, last: number): Set<number> {
    const stored = new Set<number>();
    for (const { id } of this.overlapping.all(first, last) as Array<{ id: number }>) {
      let block = this.cache.get(id);
      if (block) this.remember(id, block);
      else {
        const [uuids, times] = JSON.parse((this.load.get(id) as { keys: string }).keys) as [string[], number[]];
        block = { uuids, times };
      }
      for (let j = 0; j < block.uuids.length; j++) {
        const k = fresh.find(block.uuids[j] as string, block.times[j] as number);
        if (k !== undefined) stored.add(k);
      }
    }
    return stored;
  }

  /** Stores the uuids kept by the last `repeats` as one block. */
  record(ingestId: number): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const { id } = this.insert.get(p.first, p.last, p.uuids.length, ingestId, JSON.stringify([p.uuids, p.times])) as {
      id: number;
    };
    this.remember(id, { uuids: p.uuids, times: p.times });
    if (++this.writes % PRUNE_EVERY === 0) pruneFlowUuids(this.db);
  }

  private remember(id: number, block: BlockFlows): void {
    this.cache.delete(id);
    this.cache.set(id, block);
    while (this.cache.size > CACHED_BLOCKS) this.cache.delete(this.cache.keys().next().value as number);
  }
}

/** Drops blocks outside the window: older than the newest flow by the window, or past the cap. */
export function pruneFlowUuids(db: Db, windowMs = UUID_WINDOW_MS, maxUuids = MAX_UUIDS): void {
  const newest = newestUuidBlock(db);
  if (newest === undefined) return;
  db.prepare("DELETE FROM flow_uuid_blocks WHERE last < ?").run(newest - windowMs);
  db.prepare(
    `DELETE FROM flow_uuid_blocks WHERE id IN (
       SELECT id FROM (SELECT id, sum(entries) OVER (ORDER BY last DESC, id DESC) AS total FROM flow_uuid_blocks)
       WHERE total > ?)`,
  ).run(maxUuids);
}

export function addDuplicates(db: Db, ingestId: number, duplicates: number): void {
  if (duplicates > 0)
    db.prepare("UPDATE ingests SET duplicates = duplicates + ? WHERE id = ?").run(duplicates, ingestId);
}

/** The time of the newest flow in the uuid blocks (ms), if any. */
export function newestUuidBlock(db: Db): number | undefined {
  const { newest } = db.prepare("SELECT max(last) AS newest FROM flow_uuid_blocks").get() as { newest: number | null };
  return newest ?? undefined;
}
