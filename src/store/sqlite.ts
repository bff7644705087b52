import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import { SetupError } from "../errors.js";

/**
 * better-sqlite3, in the major version that works on this Node.js. 12.x aborts the process on
 * Node >= 24.19 (its Statement finalizer trips Node's new ObjectWrap cleanup-hook check when a
 * garbage collection runs outside a JavaScript context); 13.x fixes that but needs Node >= 22 and
 * crashes on Node 20. 13.x is an optional dependency under the alias `better-sqlite3-v13`, so npm
 * installs it only on the Node.js it supports; this picks.
 */
const nodeMajor = Number(process.versions.node.split(".")[0]);

export const SQLITE_PACKAGE = nodeMajor >= 22 ? "better-sqlite3-v13" : "better-sqlite3";

/**
 * Loads `name` and its native addon (which better-sqlite3 loads only when a first database opens).
 * A node_modules installed under another Node.js major lacks 13.x or holds an addon built for that
 * other Node.js: a SetupError says so and how to fix it.
 */
export function loadSqlite(name: string, require = createRequire(import.meta.url)): typeof BetterSqlite3 {
  try {
    const database: typeof BetterSqlite3 = require(name);
    new database(":memory:").close();
    return database;
  } catch (err) {
    const message = String((err as Error).message).replace(/\s+/g, " ");
    const abi = /NODE_MODULE_VERSION (\d+).*NODE_MODULE_VERSION (\d+)/.exec(message);
    const why =
      (err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND"
        ? `${name} is not installed (npm installs this optional dependency only under Node.js >= 22, and not with --omit=optional)`
        : abi
          ? `its native module was built for another Node.js (NODE_MODULE_VERSION ${abi[1]}; this one needs ${abi[2]})`
          : `its native module does not load here (${message.slice(0, 200)})`;
    throw new SetupError(
      `flowpol cannot load SQLite (${name}) on Node.js ${process.versions.node}: ${why}`,
      "reinstall under this Node.js: run `npm ci` again in flowpol's folder (a node_modules installed under another Node.js major does not fit this one)",
      { cause: err },
    );
  }
}

export const Database: typeof BetterSqlite3 = loadSqlite(SQLITE_PACKAGE);
export type Database = BetterSqlite3.Database;
