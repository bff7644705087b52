import type { Db } from "./db.js";

/**
 * Where a streaming collector left off, per source (server and filters): the time of the newest
 * event stored, with nanosecond precision, and the keys (flow uuid, else a content hash) of the
 * events stored at exactly that time. A resumed stream asks the server for events since that time
 * and drops the ones whose keys are listed, so nothing is counted twice. Updated in the same
 * transaction as the batch it describes.
 */
export interface CollectCursor {
  seconds: number;
  nanos: number;
  keys: string[];
}

export function loadCursor(db: Db, source: string): CollectCursor | undefined {
  const row = db.prepare("SELECT seconds, nanos, keys FROM collect_cursors WHERE source = ?").get(source) as
    | { seconds: number; nanos: number; keys: string }
    | undefined;
  if (!row) return undefined;
  const keys = JSON.parse(row.keys) as unknown;
  return {
    seconds: row.seconds,
    nanos: row.nanos,
    keys: Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [],
  };
}

export function saveCursor(db: Db, source: string, cursor: CollectCursor, ingestId: number, now: number): void {
  db.prepare(
    `INSERT INTO collect_cursors (source, seconds, nanos, keys, ingest_id, updated_at)
     VALUES (@source, @seconds, @nanos, @keys, @ingestId, @now)
     ON CONFLICT (source) DO UPDATE SET seconds = excluded.seconds, nanos = excluded.nanos, keys = excluded.keys,
       ingest_id = excluded.ingest_id, updated_at = excluded.updated_at`,
  ).run({ source, seconds: cursor.seconds, nanos: cursor.nanos, keys: JSON.stringify(cursor.keys), ingestId, now });
}

/** Marks collection sessions of this source that were killed (still `running`) as failed. */
export function closeStaleSessions(db: Db, path: string, now: number): number {
  return db
    .prepare(
      "UPDATE ingests SET status = 'failed', finished_at = ? WHERE kind = 'grpc' AND path = ? AND status = 'running'",
    )
    .run(now, path).changes;
}
