import { describe, expect, it } from "vitest";
import { EXIT_CODES, SetupError } from "../../src/errors.js";
import { Database, loadSqlite, SQLITE_PACKAGE } from "../../src/store/sqlite.js";

describe("loading better-sqlite3 for this Node.js", () => {
  it("picks 13.x (the optional `better-sqlite3-v13`) from Node 22 on, 12.x before", () => {
    const major = Number(process.versions.node.split(".")[0]);
    expect(SQLITE_PACKAGE).toBe(major >= 22 ? "better-sqlite3-v13" : "better-sqlite3");
    const db = new Database(":memory:");
    expect(db.prepare("select sqlite_version() as v").get()).toEqual({ v: expect.stringMatching(/^3\./) });
    db.close();
  });

  it("refuses a package npm did not install with a setup error naming it, this Node.js and the fix", () => {
    let thrown: unknown;
    try {
      loadSqlite("better-sqlite3-not-installed");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SetupError);
    const e = thrown as SetupError;
    expect(e.message).toBe(
      `flowpol cannot load SQLite (better-sqlite3-not-installed) on Node.js ${process.versions.node}: ` +
        "better-sqlite3-not-installed is not installed (npm installs this optional dependency only under Node.js >= 22, and not with --omit=optional)",
    );
    expect(e.hint).toMatch(/^reinstall under this Node\.js: run `npm ci` again/);
    expect(EXIT_CODES[e.code]).toBe(1);
  });
});
