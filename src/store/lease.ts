import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { InputError } from "../errors.js";
import type { Db } from "./db.js";

/**
 * Leases: a run owns an input (by content and by path) or a collector's cursor while it stores
 * from it, so two runs never store the same flows. A lease is a row taken in a write transaction;
 * a second run finding it held by a live run refuses. A lease whose run is gone is taken over:
 * on the same host when its process no longer exists, from another host when it was not renewed
 * for `LEASE_TTL_MS` (every commit renews it).
 *
 * Invariant: an ingest log row stays `running` only while a lease names it; the others are runs
 * that were killed, and the next lease taken marks them failed.
 */
export const LEASE_TTL_MS = 10 * 60 * 1000;

export interface Lease {
  keys: string[];
  token: string;
}

interface LeaseRow {
  key: string;
  host: string;
  pid: number;
  token: string;
  acquired_at: number;
  renewed_at: number;
}

const HOST = hostname();

function alive(row: LeaseRow, now: number): boolean {
  if (row.host !== HOST) return now - row.renewed_at < LEASE_TTL_MS;
  try {
    process.kill(row.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Why a lease could not be taken: the run that holds it, named for the user. */
export class LeaseHeld extends InputError {}

/**
 * Takes every key for this run, or none: throws `LeaseHeld` naming what holds the first one.
 * `what` names the thing leased in the message ("the input x.json", "the cursor of server:4245").
 */
export function acquireLeases(db: Db, keys: string[], what: string, now: number, hint: string): Lease {
  const token = randomUUID();
  db.transaction(() => {
    const rows = db.prepare("SELECT * FROM leases").all() as LeaseRow[];
    const stale = rows.filter((r) => !alive(r, now));
    const remove = db.prepare("DELETE FROM leases WHERE key = ? AND token = ?");
    for (const r of stale) remove.run(r.key, r.token);
    closeUnleasedIngests(db, now);
    const held = new Map(rows.filter((r) => !stale.includes(r)).map((r) => [r.key, r]));
    for (const key of keys) {
      const row = held.get(key);
      if (!row) continue;
      throw new LeaseHeld(
        `${what} is being stored by another flowpol run (process ${row.pid} on ${row.host}, since ${new Date(row.acquired_at).toISOString()}); this run stored nothing from it`,
        undefined,
        hint,
      );
    }
    const insert = db.prepare(
      "INSERT INTO leases (key, host, pid, token, acquired_at, renewed_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const key of new Set(keys)) insert.run(key, HOST, process.pid, token, now, now);
  }).immediate();
  return { keys: [...new Set(keys)], token };
}

/** Names the ingest log row the lease protects (it stays `running` while the lease lives). */
export function bindLease(db: Db, lease: Lease, ingestId: number, now: number): void {
  db.prepare("UPDATE leases SET ingest_id = ?, renewed_at = ? WHERE token = ?").run(ingestId, now, lease.token);
}

export function renewLease(db: Db, lease: Lease, now: number): void {
  db.prepare("UPDATE leases SET renewed_at = ? WHERE token = ?").run(now, lease.token);
}

/** How often a long run renews its lease even when it stores nothing (a quiet `--follow` stream). */
export const LEASE_RENEW_MS = LEASE_TTL_MS / 5;

/**
 * Renews the lease every `everyMs` until the returned function is called. A renewal that fails
 * (store busy, disk full) is left to the next one; the run's own writes report such errors.
 */
export function keepRenewed(db: Db, lease: Lease, now: () => number, everyMs = LEASE_RENEW_MS): () => void {
  const timer = setInterval(() => {
    try {
      renewLease(db, lease, now());
    } catch {
      // The next renewal or the run's next write tries again.
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

export function releaseLease(db: Db, lease: Lease): void {
  db.prepare("DELETE FROM leases WHERE token = ?").run(lease.token);
}

/** The hint when a collector's cursor is leased by another run. */
export const CURSOR_LEASE_HINT =
  "one collection per server and filters at a time: stop the other run (or let it finish), then run this again; it resumes from the stored cursor";

/** Marks `running` ingests that no lease protects (their run was killed) as failed. */
function closeUnleasedIngests(db: Db, now: number): number {
  return db
    .prepare(
      `UPDATE ingests SET status = 'failed', finished_at = ?
       WHERE status = 'running' AND id NOT IN (SELECT ingest_id FROM leases WHERE ingest_id IS NOT NULL)`,
    )
    .run(now).changes;
}
