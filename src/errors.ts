/**
 * The one error hierarchy of flowpol. Every message says what is wrong and, in `hint`, how to fix
 * it. Only `src/cli/main.ts` turns these into exit codes.
 */
export type ErrorCode = "usage" | "input" | "source" | "setup" | "check" | "internal";

export abstract class FlowpolError extends Error {
  abstract readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** A flag or argument is wrong. Exit code 2. */
export class UsageError extends FlowpolError {
  readonly code = "usage";
}

/** A location inside an input: a file (or "-" for stdin), a line, a document index. */
export interface InputLocation {
  file: string;
  line?: number;
  document?: number;
}

export function formatLocation(loc: InputLocation): string {
  if (loc.line !== undefined) return `${loc.file}:${loc.line}`;
  if (loc.document !== undefined) return `${loc.file} (document ${loc.document})`;
  return loc.file;
}

/** Input data is malformed. Carries the file and line. Exit code 1. */
export class InputError extends FlowpolError {
  readonly code = "input";
  readonly location: InputLocation | undefined;

  constructor(message: string, location?: InputLocation, hint?: string, options?: { cause?: unknown }) {
    super(location ? `${formatLocation(location)}: ${message}` : message, hint, options);
    this.location = location;
  }
}

/** A flow source (a server, a connection, a TLS handshake) failed. Exit code 1. */
export class SourceError extends FlowpolError {
  readonly code = "source";
}

/** flowpol's installation does not fit the Node.js running it (a native module missing or built for another). Exit code 1. */
export class SetupError extends FlowpolError {
  readonly code = "setup";
}

/** A check the user asked for (--fail-on, verify) found something. Exit code 3. */
export class CheckFailedError extends FlowpolError {
  readonly code = "check";
}

/** A bug in flowpol. Exit code 1, with a request to report it. */
export class InternalError extends FlowpolError {
  readonly code = "internal";
}

/** Normalises anything caught into a FlowpolError. */
export function toFlowpolError(err: unknown): FlowpolError {
  if (err instanceof FlowpolError) return err;
  if (err instanceof Error) {
    const sys = err as NodeJS.ErrnoException;
    if (sys.code === "ENOENT" && sys.path) {
      return new InputError(`no such file: ${sys.path}`, undefined, "check the path", { cause: err });
    }
    if (sys.code === "EACCES" && sys.path) {
      return new InputError(`permission denied: ${sys.path}`, undefined, "check the file's permissions", {
        cause: err,
      });
    }
    if (sys.code === "EISDIR" && sys.path) {
      return new InputError(`${sys.path} is a directory, not a file`, undefined, "name a file", { cause: err });
    }
    const store = storeError(err);
    if (store) return store;
    return new InternalError(err.message, "this is a bug in flowpol: please report it with the command you ran", {
      cause: err,
    });
  }
  return new InternalError(String(err), "this is a bug in flowpol: please report it with the command you ran");
}

/** What a SQLite failure on the store means to the user, or undefined when it is not one of these. */
export function storeError(err: unknown, path = ""): InputError | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") return undefined;
  const options = { cause: err };
  if (code === "SQLITE_NOTADB") {
    return new InputError(
      `${path || "the store"} is not a SQLite database`,
      undefined,
      "point --db at a flowpol store",
      options,
    );
  }
  if (code === "SQLITE_FULL" || (code.startsWith("SQLITE_IOERR") && /disk|space/i.test((err as Error).message))) {
    return new InputError(
      `disk full: cannot write ${path ? `the store ${path}` : "the store"}`,
      undefined,
      "free space on its file system (or point --db elsewhere) and run again: what was stored before is kept, and the run resumes",
      options,
    );
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new InputError(
      `store busy: another flowpol kept ${path || "the store"} locked for longer than 10 s (retried until then)`,
      undefined,
      "wait for the other run to finish, then run again",
      options,
    );
  }
  if (code.startsWith("SQLITE_READONLY")) {
    return new InputError(
      `${path ? `the store ${path}` : "the store"} is read-only (no permission to write it, its directory, or its -wal file)`,
      undefined,
      "make the file and its directory writable, or point --db at a writable path",
      options,
    );
  }
  if (code.startsWith("SQLITE_CANTOPEN")) {
    return new InputError(
      `cannot open ${path ? `the store ${path}` : "the store"}`,
      undefined,
      "check that its directory exists and is writable, or point --db elsewhere",
      options,
    );
  }
  if (code === "SQLITE_CORRUPT") {
    return new InputError(
      `${path ? `the store ${path}` : "the store"} is damaged (SQLite reports corruption)`,
      undefined,
      "restore it from a backup, or start a new store",
      options,
    );
  }
  return undefined;
}

export const EXIT_CODES: Record<ErrorCode, number> = {
  usage: 2,
  input: 1,
  source: 1,
  setup: 1,
  check: 3,
  internal: 1,
};
