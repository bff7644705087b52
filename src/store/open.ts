import { UsageError } from "../errors.js";
import { ClickHouseStore } from "./clickhouse/store.js";
import { isClickHouseUrl, redactUrl } from "./clickhouse/url.js";
import type { OpenOptions } from "./db.js";
import { SqliteStore } from "./sqlite-store.js";
import type { FlowStore } from "./store.js";

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
  if (isClickHouseUrl(db)) return ClickHouseStore.open(db, open, now);
  if (OTHER_URL.test(db)) {
    throw new UsageError(
      `--db ${redactUrl(db)} is a URL flowpol does not know`,
      "give a SQLite file path, or clickhouse://HOST:PORT/DATABASE (clickhouses:// for TLS)",
    );
  }
  return SqliteStore.open(db, open, now);
}

export { redactUrl };
