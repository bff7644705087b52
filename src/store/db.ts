import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";
import { InputError, storeError, UsageError } from "../errors.js";
import { MIGRATIONS } from "./migrations.js";
import { Database } from "./sqlite.js";

export type Db = Database;

export const DEFAULT_DB_PATH = "flowpol.db";

/** The store path: the --db flag, else FLOWPOL_DB, else ./flowpol.db. */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.FLOWPOL_DB ?? DEFAULT_DB_PATH;
}

export interface OpenOptions {
  /** Open an existing store only; do not create one. */
  mustExist?: boolean;
  readonly?: boolean;
}

/**
 * Opens (and migrates) the store. WAL mode; foreign keys on. A SQLite file that is not a flowpol
 * store (tables, no schema version) is refused; a file with no tables at all (a store whose
 * creation was cut short, e.g. by a full disk) is created again when writing and refused when reading.
 */
export function openStore(path: string, options: OpenOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.mustExist ?? false,
    });
  } catch (err) {
    const readOnly = readOnlyPlaceError(err, path, options.readonly ?? false);
    if (readOnly) throw readOnly;
    if (options.mustExist) {
      throw new InputError(
        `no flowpol store at ${path}`,
        undefined,
        "run `flowpol ingest FILE` first, or point --db (or FLOWPOL_DB) at an existing store",
        { cause: err },
      );
    }
    throw (
      storeError(err, path) ??
      new UsageError(`cannot open the store ${path}: ${(err as Error).message}`, "check the --db path", {
        cause: err,
      })
    );
  }
  try {
    db.pragma("busy_timeout = 10000");
    if (!options.readonly) {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
    }
    db.pragma("foreign_keys = ON");
    // Upserts with RETURNING build a temporary table per row; on disk, each one costs a temporary
    // file's worth of allocation (about 200 µs instead of 4 µs a row).
    db.pragma("temp_store = MEMORY");
    checkIdentity(db, path, options.readonly ?? false);
    if (!options.readonly) migrate(db);
    else checkVersion(db, path);
  } catch (err) {
    db.close();
    throw readOnlyPlaceError(err, path, options.readonly ?? false) ?? storeError(err, path) ?? err;
  }
  return db;
}

/**
 * A store that exists in a directory flowpol cannot write (a read-only mount, a read-only volume):
 * writing is impossible, and reading needs SQLite's shared-memory file (`-shm`) beside the store
 * when it is in WAL mode, as flowpol's stores are.
 */
function readOnlyPlaceError(err: unknown, path: string, readonly: boolean): InputError | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string" || !/^SQLITE_(CANTOPEN|READONLY)/.test(code) || !existsSync(path)) return undefined;
  try {
    accessSync(dirname(path), constants.W_OK);
    return undefined;
  } catch (access) {
    const why =
      (access as NodeJS.ErrnoException).code === "EROFS"
        ? "on a read-only file system"
        : "in a directory flowpol cannot write";
    return readonly
      ? new InputError(
          `cannot read the store ${path}: it is ${why}, and SQLite needs to create its shared-memory file (${path}-shm) beside it to read a WAL store`,
          undefined,
          `copy the store to a writable place (cp ${path} /tmp/) and point --db there`,
          { cause: err },
        )
      : new InputError(
          `the store ${path} is ${why}: this command writes to the store`,
          undefined,
          "point --db at a store in a writable directory (copy it there first to add to it)",
          { cause: err },
        );
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/** Refuses a foreign SQLite database, and an empty one when only reading. */
function checkIdentity(db: Db, path: string, readonly: boolean): void {
  if (schemaVersion(db) !== 0) return;
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number };
  if (tables.n > 0) {
    throw new InputError(
      `${path} is a SQLite database, but not a flowpol store (it has tables and no flowpol schema version)`,
      undefined,
      "point --db (or FLOWPOL_DB) at a flowpol store, or at a new file name to create one; flowpol does not add its tables to another database",
    );
  }
  if (readonly) {
    throw new InputError(
      `${path} is an empty store: it has no flowpol tables (its creation may have been cut short, e.g. by a full disk)`,
      undefined,
      "run `flowpol ingest FILE` (or `flowpol collect`) with this --db: it creates the tables",
    );
  }
}

function checkVersion(db: Db, path: string): void {
  const version = schemaVersion(db);
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (version > latest) {
    throw new UsageError(
      `${path} has schema version ${version}, newer than this flowpol knows (${latest})`,
      "upgrade flowpol",
    );
  }
}

/**
 * Applies every pending migration in one write transaction (BEGIN IMMEDIATE), reading the schema
 * version inside it: two runs opening a new store at once migrate it once, the second waits.
 */
export function migrate(db: Db): void {
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  const before = schemaVersion(db);
  if (before === latest) return;
  // Foreign keys can only be switched outside a transaction; the rebuild is checked inside it.
  const rebuilds = MIGRATIONS.some((m) => m.version > before && m.rebuildsTables);
  if (rebuilds) db.pragma("foreign_keys = OFF");
  try {
    migrateInTransaction(db, latest);
  } finally {
    if (rebuilds) db.pragma("foreign_keys = ON");
  }
}

function migrateInTransaction(db: Db, latest: number): void {
  db.transaction(() => {
    const current = schemaVersion(db);
    if (current > latest) {
      throw new UsageError(
        `the store has schema version ${current}, newer than this flowpol knows (${latest})`,
        "upgrade flowpol",
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
    const broken = db.pragma("foreign_key_check") as unknown[];
    if (broken.length > 0) throw new Error(`the store's migration broke ${broken.length} reference(s)`);
  }).immediate();
}
