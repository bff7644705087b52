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
/** Blocks whose keys are kept in memory between writes (the latest read or written). */
const CACHED_BLOCKS = 3;
/** Writes between two prunings. */
const PRUNE_EVERY = 32;

interface CachedBlock {
  first: number;
  last: number;
  keys: UuidTimes;
}

/**
 * Flow uuids with their times: a uuid maps to its time; the rare same uuid at another time (not
 * a repeat) is kept under a key that holds the time too. No key string is built per flow.
 */
class UuidTimes {
  private readonly times = new Map<string, number>();

  has(uuid: string, time: number): boolean {
    const t = this.times.get(uuid);
    return t === time || (t !== undefined && this.times.get(`${time} ${uuid}`) === time);
  }

  add(uuid: string, time: number): void {
    if (!this.times.has(uuid)) this.times.set(uuid, time);
    else this.times.set(`${time} ${uuid}`, time);
  }
}

function inBlocks(blocks: readonly CachedBlock[], uuid: string, time: number): boolean {
  for (const b of blocks) if (time >= b.first && time <= b.last && b.keys.has(uuid, time)) return true;
  return false;
}

export class FlowUuids {
  private readonly cache = new Map<number, CachedBlock>();
  private readonly overlapping;
  private readonly load;
  private readonly insert;
  private writes = 0;
  /** The keys of the flows kept by the last `repeats`, written by `record`. */
  private pending: { keys: UuidTimes; uuids: string[]; times: number[]; first: number; last: number } | undefined;

  constructor(private readonly db: Db) {
    this.overlapping = db.prepare("SELECT id, first, last FROM flow_uuid_blocks WHERE last >= ? AND first <= ?");
    this.load = db.prepare("SELECT keys FROM flow_uuid_blocks WHERE id = ?");
    this.insert = db.prepare(
      "INSERT INTO flow_uuid_blocks (first, last, entries, ingest_id, keys) VALUES (?, ?, ?, ?, ?) RETURNING id",
    );
  }

  /**
   * For each batch, the indexes (into its `flowIds`) of the flows that repeat a stored flow or an
   * earlier flow of these batches. The others are remembered for `record`.
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
    if (first > last) return batches.map(() => new Set());
    const blocks = (this.overlapping.all(first, last) as Array<{ id: number; first: number; last: number }>).map(
      (row) => this.block(row),
    );
    const fresh = new UuidTimes();
    const uuids: string[] = [];
    const times: number[] = [];
    const drops = batches.map((b) => {
      const drop = new Set<number>();
      const ids = b.flowIds;
      if (!ids) return drop;
      for (let i = 0; i < ids.uuids.length; i++) {
        const uuid = ids.uuids[i] as string;
        const time = ids.times[i] as number;
        if (fresh.has(uuid, time) || inBlocks(blocks, uuid, time)) {
          drop.add(i);
          continue;
        }
        fresh.add(uuid, time);
        uuids.push(uuid);
        times.push(time);
      }
      return drop;
    });
    if (uuids.length > 0) this.pending = { keys: fresh, uuids, times, first, last };
    return drops;
  }

  /** Stores the uuids kept by the last `repeats` as one block. */
  record(ingestId: number): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const { id } = this.insert.get(p.first, p.last, p.uuids.length, ingestId, JSON.stringify([p.uuids, p.times])) as {
      id: number;
    };
    this.remember(id, { first: p.first, last: p.last, keys: p.keys });
    if (++this.writes % PRUNE_EVERY === 0) pruneFlowUuids(this.db);
  }

  private block(row: { id: number; first: number; last: number }): CachedBlock {
    const cached = this.cache.get(row.id);
    if (cached) {
      this.remember(row.id, cached);
      return cached;
    }
    const { keys } = this.load.get(row.id) as { keys: string };
    const [uuids, times] = JSON.parse(keys) as [string[], number[]];
    const set = new UuidTimes();
    for (let i = 0; i < uuids.length; i++) set.add(uuids[i] as string, times[i] as number);
    const block = { first: row.first, last: row.last, keys: set };
    this.remember(row.id, block);
    return block;
  }

  private remember(id: number, block: CachedBlock): void {
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
