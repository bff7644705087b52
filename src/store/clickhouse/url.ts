import { UsageError } from "../../errors.js";

/**
 * A ClickHouse store named by `--db`: `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?cluster=NAME]`,
 * `clickhouses://` for TLS. The HTTP interface (8123, TLS 8443). User and password come from the URL,
 * else FLOWPOL_CLICKHOUSE_USER / FLOWPOL_CLICKHOUSE_PASSWORD, else ClickHouse's `default` user.
 */
export interface ClickHouseTarget {
  /** http(s)://HOST:PORT of the server flowpol talks to. */
  url: string;
  tls: boolean;
  host: string;
  port: number;
  database: string;
  /** A cluster from the server's `remote_servers`: local tables on each shard, Distributed tables over them. */
  cluster: string | undefined;
  username: string;
  password: string;
  /** The URL without its password, for messages. */
  display: string;
}

const SCHEMES = ["clickhouse:", "clickhouses:"];
/** Databases and clusters become SQL identifiers: a plain name only. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function isClickHouseUrl(db: string): boolean {
  return /^clickhouses?:\/\//i.test(db);
}

export function parseClickHouseUrl(db: string, env: NodeJS.ProcessEnv = process.env): ClickHouseTarget {
  const usage = "--db clickhouse://HOST:PORT/DATABASE[?cluster=NAME] (clickhouses:// for TLS)";
  let u: URL;
  try {
    u = new URL(db);
  } catch {
    throw new UsageError(`--db ${redactUrl(db)} is not a valid URL`, `write it as ${usage}`);
  }
  const scheme = u.protocol.toLowerCase();
  if (!SCHEMES.includes(scheme)) {
    throw new UsageError(`--db ${redactUrl(db)}: unknown scheme ${u.protocol}`, `write it as ${usage}`);
  }
  const tls = scheme === "clickhouses:";
  const shown = redactUrl(db);
  if (!u.hostname) throw new UsageError(`--db ${shown} names no host`, `write it as ${usage}`);
  const port = u.port ? Number(u.port) : tls ? 8443 : 8123;
  const path = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!path) throw new UsageError(`--db ${shown} names no database`, `write it as ${usage}`);
  if (!NAME.test(path)) {
    throw new UsageError(
      `--db ${shown}: the database name ${JSON.stringify(path)} is not a plain name`,
      "use letters, digits and underscores (not starting with a digit), at most 64",
    );
  }
  let cluster: string | undefined;
  for (const [key, value] of u.searchParams) {
    if (key !== "cluster") {
      throw new UsageError(
        `--db ${shown}: unknown parameter ${JSON.stringify(key)}`,
        "the only parameter is ?cluster=NAME",
      );
    }
    if (!NAME.test(value)) {
      throw new UsageError(
        `--db ${shown}: the cluster name ${JSON.stringify(value)} is not a plain name`,
        "name a cluster of the server's remote_servers (letters, digits, underscores)",
      );
    }
    cluster = value;
  }
  if (u.hash) throw new UsageError(`--db ${shown} has a #fragment`, `write it as ${usage}`);
  const username = u.username ? decodeURIComponent(u.username) : (env.FLOWPOL_CLICKHOUSE_USER ?? "default");
  const password = u.password ? decodeURIComponent(u.password) : (env.FLOWPOL_CLICKHOUSE_PASSWORD ?? "");
  const host = u.hostname;
  return {
    url: `${tls ? "https" : "http"}://${host}:${port}`,
    tls,
    host,
    port,
    database: path,
    cluster,
    username,
    password,
    display: shown,
  };
}

/** A URL as messages show it: without the password. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}
