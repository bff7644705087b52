import type { Db } from "./db.js";

/** The ingest log: one row per input file, stdin read or collection session. */
export interface IngestRow {
  id: number;
  source_system: string;
  kind: "file" | "stdin" | "grpc";
  path: string;
  format: string;
  head_hash: string;
  content_hash: string;
  bytes_done: number;
  lines_done: number;
  status: "running" | "complete" | "failed";
  flows: number;
  replies: number;
  skipped: number;
  bad: number;
  lost: number;
  started_at: number;
  finished_at: number | null;
}

export interface IngestCounts {
  flows: number;
  replies: number;
  skipped: number;
  bad: number;
  lost: number;
}

export function startIngest(
  db: Db,
  row: Pick<IngestRow, "source_system" | "kind" | "path" | "format" | "head_hash">,
  now: number,
): number {
  const result = db
    .prepare(
      `INSERT INTO ingests (source_system, kind, path, format, head_hash, status, started_at)
       VALUES (@source_system, @kind, @path, @format, @head_hash, 'running', @now)`,
    )
    .run({ ...row, now });
  return Number(result.lastInsertRowid);
}

/** Candidates for "this file was ingested before": same head of content, or same path. */
export function findPriorIngests(db: Db, headHash: string, path: string): IngestRow[] {
  return db
    .prepare(
      `SELECT * FROM ingests WHERE kind = 'file' AND content_hash != '' AND (head_hash = ? OR path = ?)
       ORDER BY bytes_done DESC, id DESC`,
    )
    .all(headHash, path) as IngestRow[];
}

export function findCompleteByContent(db: Db, contentHash: string): IngestRow | undefined {
  return db.prepare("SELECT * FROM ingests WHERE status = 'complete' AND content_hash = ? LIMIT 1").get(contentHash) as
    | IngestRow
    | undefined;
}

export function recordProgress(
  db: Db,
  id: number,
  progress: { bytesDone: number; linesDone: number; contentHash: string; counts: IngestCounts },
): void {
  db.prepare(
    `UPDATE ingests SET bytes_done = @bytesDone, lines_done = @linesDone, content_hash = @contentHash,
       flows = flows + @flows, replies = replies + @replies, skipped = skipped + @skipped, bad = bad + @bad,
       lost = lost + @lost
     WHERE id = @id`,
  ).run({
    id,
    bytesDone: progress.bytesDone,
    linesDone: progress.linesDone,
    contentHash: progress.contentHash,
    ...progress.counts,
  });
}

export function finishIngest(db: Db, id: number, status: "complete" | "failed", now: number, format?: string): void {
  db.prepare(
    "UPDATE ingests SET status = ?, finished_at = ?, format = coalesce(?, format), head_hash = head_hash WHERE id = ?",
  ).run(status, now, format ?? null, id);
}

export function reopenIngest(db: Db, id: number, headHash: string, path: string): void {
  db.prepare("UPDATE ingests SET status = 'running', finished_at = NULL, head_hash = ?, path = ? WHERE id = ?").run(
    headHash,
    path,
    id,
  );
}

export function getIngest(db: Db, id: number): IngestRow {
  return db.prepare("SELECT * FROM ingests WHERE id = ?").get(id) as IngestRow;
}
