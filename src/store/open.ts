import { UsageError } from "../errors.js";
import type { OpenOptions } from "./db.js";
import { SqliteStore } from "./sqlite-store.js";
import type { FlowStore } from "./store.js";

/** `--db` values that name a ClickHouse server rather than a file. */
const CLICKHOUSE_URL = /^clickhouses?:\/\//i;
/** Any other URL scheme: refused rather than taken for a file name. */
const OTHER_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

export interface OpenFlowStoreOptions extends OpenOptions {
  /** The clock the store stamps the ingest log and leases with (tests). */
  now?: () => number;
}

/**
 * Opens the store a `--db` value names: `clickhouse://HOST:PORT/DATABASE` or `clickhouses://...`
 * a ClickHouse server, any other value a SQLite file. The one place that chooses an implementation.
 */
export async function openFlowStore(db: string, options: OpenFlowStoreOptions = {}): Promise<FlowStore> {
  const { now, ...open } = options;
  if (CLICKHOUSE_URL.test(db)) {
    throw new UsageError(
      `--db ${redactUrl(db)}: this flowpol has no ClickHouse store yet`,
      "point --db (or FLOWPOL_DB) at a SQLite file, e.g. --db flowpol.db",
    );
  }
  if (OTHER_URL.test(db)) {
    throw new UsageError(
      `--db ${redactUrl(db)} is a URL flowpol does not know`,
      "give a SQLite file path, or clickhouse://HOST:PORT/DATABASE (clickhouses:// for TLS)",
    );
  }
  return SqliteStore.open(db, open, now);
}

/** A URL as messages show it: without the password. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}
