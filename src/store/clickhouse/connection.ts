import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { SourceError, UsageError } from "../../errors.js";
import type { ClickHouseTarget } from "./url.js";

/**
 * One HTTP connection to a ClickHouse server, with flowpol's settings on every query: inserts
 * through Distributed tables wait for every shard (a commit is only written after its data is
 * everywhere), and 64-bit integers come back as JSON numbers (flowpol's values stay below 2^53).
 */
export class Connection {
  private readonly client: ClickHouseClient;

  constructor(
    readonly target: ClickHouseTarget,
    url = target.url,
  ) {
    this.client = createClient({
      url,
      username: target.username,
      password: target.password,
      application: "flowpol",
      request_timeout: 300_000,
      // Failures reach the user as flowpol's errors (below), not as the client's log lines.
      log: { level: ClickHouseLogLevel.OFF },
      clickhouse_settings: {
        insert_distributed_sync: 1,
        output_format_json_quote_64bit_integers: 0,
      },
    });
  }

  async query<T>(sql: string): Promise<T[]> {
    try {
      const result = await this.client.query({ query: sql, format: "JSONEachRow" });
      return (await result.json()) as T[];
    } catch (err) {
      throw this.failure(err);
    }
  }

  async command(sql: string): Promise<void> {
    try {
      await this.client.command({ query: sql });
    } catch (err) {
      throw this.failure(err);
    }
  }

  async insert(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.client.insert({ table, values: rows as object[], format: "JSONEachRow" });
    } catch (err) {
      throw this.failure(err);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** What a failed request means to the user. */
  private failure(err: unknown): Error {
    const e = err as Error & { code?: string; type?: string };
    const where = this.target.display;
    if (e.code === "ECONNREFUSED" || e.code === "ENOTFOUND" || e.code === "EHOSTUNREACH" || e.code === "ETIMEDOUT") {
      return new SourceError(
        `cannot reach the ClickHouse store ${where} (${e.code})`,
        "check the host and HTTP port in --db (8123, or 8443 for clickhouses://) and that the server runs",
        { cause: err },
      );
    }
    if (
      e.type === "AUTHENTICATION_FAILED" ||
      e.code === "516" ||
      /Authentication failed|password is incorrect/i.test(e.message)
    ) {
      return new UsageError(
        `the ClickHouse store ${where} refused the user ${this.target.username}`,
        "give user and password in the URL or in FLOWPOL_CLICKHOUSE_USER / FLOWPOL_CLICKHOUSE_PASSWORD",
        { cause: err },
      );
    }
    return new SourceError(`the ClickHouse store ${where} failed: ${e.message}`, undefined, { cause: err });
  }
}
