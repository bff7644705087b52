import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

/**
 * better-sqlite3, in the major version that works on this Node.js. 12.x aborts the process on
 * Node >= 24.19 (its Statement finalizer trips Node's new ObjectWrap cleanup-hook check when a
 * garbage collection runs outside a JavaScript context); 13.x fixes that but needs Node >= 22 and
 * crashes on Node 20. Both are installed (13.x under the alias `better-sqlite3-v13`); this picks.
 */
const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split(".")[0]);

export const SQLITE_PACKAGE = nodeMajor >= 22 ? "better-sqlite3-v13" : "better-sqlite3";

export const Database: typeof BetterSqlite3 = require(SQLITE_PACKAGE);
export type Database = BetterSqlite3.Database;
