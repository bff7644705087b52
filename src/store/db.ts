import { InputError, UsageError } from "../errors.js";
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

/** Opens (and migrates) the store. WAL mode; foreign keys on. */
export function openStore(path: string, options: OpenOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.mustExist ?? false,
    });
  } catch (err) {
    if (options.mustExist) {
      throw new InputError(
        `no flowpol store at ${path}`,
        undefined,
        "run `flowpol ingest FILE` first, or point --db (or FLOWPOL_DB) at an existing store",
        { cause: err },
      );
    }
    throw new UsageError(`cannot open the store ${path}: ${(err as Error).message}`, "check the --db path", {
      cause: err,
    });
  }
  try {
    if (!options.readonly) {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
    }
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    if (!options.readonly) migrate(db);
    else checkVersion(db, path);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_NOTADB") {
      throw new InputError(`${path} is not a SQLite database`, undefined, "point --db at a flowpol store", {
        cause: err,
      });
    }
    throw err;
  }
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma("user_version", { simple: true }) as number;
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

/** Applies every pending migration, each in its own transaction. */
export function migrate(db: Db): void {
  const current = schemaVersion(db);
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new UsageError(
      `the store has schema version ${current}, newer than this flowpol knows (${latest})`,
      "upgrade flowpol",
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
