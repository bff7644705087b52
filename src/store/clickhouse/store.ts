import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Batch } from "../../collect/aggregate.js";
import type { Observed } from "../../diff/observed.js";
import { InputError, UsageError } from "../../errors.js";
import type { GraphInput, Scope } from "../../graph/input.js";
import type { CollectCursor } from "../collect-cursor.js";
import type { IngestRow } from "../ingest-log.js";
import { LEASE_TTL_MS, type Lease, LeaseHeld } from "../lease.js";
import type { ObservedWindow } from "../read-observed.js";
import type { StoreSnapshot } from "../read-report.js";
import type { StoreStats } from "../stats.js";
import { batchRows } from "./batch-rows.js";
import { Connection } from "./connection.js";
import { Reader } from "./reads.js";
import { createStatements, SCHEMA_VERSION, TABLES } from "./schema.js";
import { literal, literalList } from "./sql.js";
import { type ClickHouseTarget, parseClickHouseUrl } from "./url.js";
import type { Tables } from "./views.js";

/**
 * flowpol's store on ClickHouse. Nothing is updated in place: every write inserts rows, and the
 * unit of exactly-once is the batch. A batch's data rows are inserted first (through every shard,
 * synchronously), then its row in `batches`, which also carries the ingest's progress and the
 * collector's cursor: that one-row insert is the commit. Reads count committed batches only, each
 * once. A run killed before a commit leaves rows that never count; a run that resumes starts from
 * the last committed progress or cursor. Ingest log rows and leases are versioned rows
 * (ReplacingMergeTree), read as their newest version.
 */
export interface OpenOptions {
  mustExist?: boolean;
  readonly?: boolean;
}

export interface CommitOptions {
  ingestId: number;
  system: string;
  badLineOffset?: number;
  /** The input's position after this batch (files: bytes and lines; collectors: messages). */
  progress?: { bytesDone: number; linesDone: number; contentHash: string };
  cursor?: { source: string; cursor: CollectCursor };
  gaps?: GapRecord[];
}

export interface GapRecord {
  system: string;
  kind: string;
  node: string;
  detail: string;
  count: number;
  time: number | null;
  ingestId: number | null;
}

const HOST = hostname();

export class ClickHouseStore {
  private readonly reader: Reader;
  private lastVersion = 0;

  private constructor(
    private readonly conn: Connection,
    readonly target: ClickHouseTarget,
    private readonly tables: Tables,
  ) {
    this.reader = new Reader(conn, tables);
  }

  /** Opens the store named by a clickhouse:// URL, creating or migrating its schema when writing. */
  static async open(
    db: string,
    options: OpenOptions = {},
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<ClickHouseStore> {
    const target = parseClickHouseUrl(db, env);
    const conn = new Connection(target);
    const q = (name: string) => `\`${target.database}\`.\`${name}\``;
    const tables: Tables = { table: q, inOp: target.cluster ? "GLOBAL IN" : "IN" };
    try {
      const version = await schemaVersionOf(conn, target.database);
      if (version === undefined && (options.readonly || options.mustExist)) {
        throw new InputError(
          `no flowpol store in the ClickHouse database ${target.database} at ${target.display}`,
          undefined,
          "run `flowpol ingest FILE` (or `flowpol collect`) with this --db first: it creates the tables",
        );
      }
      if (version !== undefined && version > SCHEMA_VERSION) {
        throw new UsageError(
          `the ClickHouse store ${target.display} has schema version ${version}, newer than this flowpol knows (${SCHEMA_VERSION})`,
          "upgrade flowpol",
        );
      }
      if (target.cluster) await checkCluster(conn, target);
      if (!options.readonly && version !== SCHEMA_VERSION) await migrate(conn, target);
      if (target.cluster) await checkShards(conn, target);
    } catch (err) {
      await conn.close();
      throw err;
    }
    return new ClickHouseStore(conn, target, tables);
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  /** A version for a versioned row: increasing within this process, ms-based across processes. */
  private version(): number {
    this.lastVersion = Math.max(this.lastVersion + 1, Date.now() * 1000);
    return this.lastVersion;
  }

  private t(name: string): string {
    return this.tables.table(name);
  }

  // --- write side -------------------------------------------------------------------------------

  /**
   * Writes one batch and commits it. The batch id is derived from the ingest and the position the
   * batch ends at when there is one (a batch written again after a failure gets the same id, and
   * merges drop the copy), else it is random.
   */
  async commit(batch: Batch | undefined, options: CommitOptions, now: number): Promise<string> {
    const id = options.progress
      ? createHash("sha256")
          .update(
            `${options.ingestId}\u0000${options.progress.bytesDone}\u0000${options.progress.linesDone}\u0000${options.progress.contentHash}`,
          )
          .digest("hex")
          .slice(0, 32)
      : randomUUID();
    await this.stage(batch, id, options);
    await this.conn.insert(this.t("batches"), [this.commitRow(batch, id, options, now)]);
    return id;
  }

  /** Inserts a batch's data rows without committing them (they count only once `commitStaged` runs). */
  async stage(batch: Batch | undefined, id: string, options: CommitOptions): Promise<void> {
    if (batch) {
      const rows = batchRows(batch, id, options.ingestId, options.system, options.badLineOffset);
      const base = batch.lost.length ?? 0;
      const gaps = (options.gaps ?? []).map((g, i) => gapRow(g, id, base + i));
      rows.gaps.push(...gaps);
      // Sequential: a few large inserts at a time on a small server, and a failure stops the rest.
      for (const [table, list] of Object.entries(rows)) await this.conn.insert(this.t(table), list);
    } else if (options.gaps?.length) {
      await this.conn.insert(
        this.t("gaps"),
        options.gaps.map((g, i) => gapRow(g, id, i)),
      );
    }
  }

  commitRow(batch: Batch | undefined, id: string, options: CommitOptions, now: number): object {
    return {
      batch: id,
      ingest_id: options.ingestId,
      end_offset: options.progress?.bytesDone ?? 0,
      lines_done: options.progress?.linesDone ?? 0,
      content_hash: options.progress?.contentHash ?? "",
      flows: batch?.flows ?? 0,
      replies: batch?.replies ?? 0,
      skipped: batch?.skipped ?? 0,
      bad: batch?.bad ?? 0,
      lost: batch ? batch.lost.reduce((n, l) => n + l.lost, 0) : 0,
      cursor_source: options.cursor?.source ?? "",
      cursor_seconds: options.cursor?.cursor.seconds ?? 0,
      cursor_nanos: options.cursor?.cursor.nanos ?? 0,
      cursor_keys: options.cursor ? JSON.stringify(options.cursor.cursor.keys) : "",
      committed_at: now,
    };
  }

  /** Commits staged batches together (stdin and --strict ingests: all or nothing). */
  async commitStaged(rows: object[]): Promise<void> {
    await this.conn.insert(this.t("batches"), rows);
  }

  async recordGap(gap: GapRecord, now: number): Promise<void> {
    await this.commit(undefined, { ingestId: gap.ingestId ?? 0, system: gap.system, gaps: [gap] }, now);
  }

  // --- ingest log ---------------------------------------------------------------------------------

  async startIngest(
    row: Pick<IngestRow, "source_system" | "kind" | "path" | "format" | "head_hash">,
    now: number,
  ): Promise<number> {
    const id = Date.now() * 1000 + Math.floor(Math.random() * 1000);
    await this.putIngest({ id, ...row, status: "running", started_at: now, finished_at: null });
    return id;
  }

  private async putIngest(
    row: Omit<
      IngestRow,
      "bytes_done" | "lines_done" | "content_hash" | "flows" | "replies" | "skipped" | "bad" | "lost"
    >,
  ): Promise<void> {
    await this.conn.insert(this.t("ingests"), [
      {
        id: row.id,
        source_system: row.source_system,
        kind: row.kind,
        path: row.path,
        format: row.format,
        head_hash: row.head_hash,
        status: row.status,
        started_at: row.started_at,
        finished_at: row.finished_at ?? 0,
        finished: row.finished_at === null ? 0 : 1,
        version: this.version(),
      },
    ]);
  }

  async getIngest(id: number): Promise<IngestRow> {
    const [row] = await this.reader.ingests(`id = ${literal(id)}`);
    if (!row) throw new InputError(`no ingest ${id} in the ClickHouse store ${this.target.display}`);
    return row;
  }

  async findPriorIngests(headHash: string, path: string): Promise<IngestRow[]> {
    const rows = await this.reader.ingests();
    return rows
      .filter((r) => r.kind === "file" && r.content_hash !== "" && (r.head_hash === headHash || r.path === path))
      .sort((a, b) => b.bytes_done - a.bytes_done || b.id - a.id);
  }

  async findCompleteByContent(contentHash: string): Promise<IngestRow | undefined> {
    const rows = await this.reader.ingests();
    return rows.find((r) => r.status === "complete" && r.content_hash === contentHash);
  }

  async finishIngest(id: number, status: "complete" | "failed", now: number, format?: string): Promise<void> {
    const row = await this.getIngest(id);
    await this.putIngest({ ...row, status, finished_at: now, format: format ?? row.format });
  }

  async reopenIngest(id: number, headHash: string, path: string): Promise<void> {
    const row = await this.getIngest(id);
    await this.putIngest({ ...row, status: "running", finished_at: null, head_hash: headHash, path });
  }

  // --- collector cursors --------------------------------------------------------------------------

  async loadCursor(source: string): Promise<CollectCursor | undefined> {
    const [row] = await this.conn.query<{ seconds: number; nanos: number; keys: string }>(
      `SELECT argMax(cursor_seconds, tuple(committed_at, batch)) AS seconds, argMax(cursor_nanos, tuple(committed_at, batch)) AS nanos,
         argMax(cursor_keys, tuple(committed_at, batch)) AS keys, count() AS n
       FROM ${this.t("batches")} WHERE cursor_source = ${literal(source)} HAVING n > 0`,
    );
    if (!row) return undefined;
    const keys = JSON.parse(row.keys || "[]") as unknown;
    return {
      seconds: row.seconds,
      nanos: row.nanos,
      keys: Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [],
    };
  }

  /** Saves a cursor with no batch (a commit of nothing but the cursor). */
  async saveCursor(source: string, cursor: CollectCursor, ingestId: number, now: number): Promise<void> {
    await this.commit(undefined, { ingestId, system: "", cursor: { source, cursor } }, now);
  }

  /** Marks collection sessions of this source that were killed (still `running`) as failed. */
  async closeStaleSessions(path: string, now: number): Promise<number> {
    const rows = (await this.reader.ingests()).filter(
      (r) => r.kind === "grpc" && r.path === path && r.status === "running",
    );
    for (const r of rows) await this.putIngest({ ...r, status: "failed", finished_at: now });
    return rows.length;
  }

  // --- leases -------------------------------------------------------------------------------------

  private async liveLeases(): Promise<LeaseRow[]> {
    return this.conn.query<LeaseRow>(
      `SELECT key, token, l_host AS host, l_pid AS pid, l_ingest AS ingest_id, l_acquired AS acquired_at,
         l_renewed AS renewed_at, l_released AS released FROM (
         SELECT key, token, argMax(host, version) AS l_host, argMax(pid, version) AS l_pid,
           argMax(ingest_id, version) AS l_ingest, argMax(acquired_at, version) AS l_acquired,
           argMax(renewed_at, version) AS l_renewed, argMax(released, version) AS l_released
         FROM ${this.t("leases")} GROUP BY key, token) WHERE l_released = 0`,
    );
  }

  private async putLease(row: LeaseRow): Promise<void> {
    await this.conn.insert(this.t("leases"), [{ ...row, version: this.version() }]);
  }

  /**
   * Takes every key for this run, or none. Without transactions, a lease is claimed by inserting
   * it and then reading every live claim on its keys: the oldest claim (acquired_at, token) wins;
   * a run that does not win withdraws its claim and refuses, naming the winner.
   */
  async acquireLeases(keys: string[], what: string, now: number, hint: string): Promise<Lease> {
    const token = randomUUID();
    const unique = [...new Set(keys)];
    const before = await this.liveLeases();
    const stale = before.filter((r) => !alive(r, now));
    for (const r of stale) await this.putLease({ ...r, released: 1 });
    await this.closeUnleasedIngests(
      before.filter((r) => !stale.includes(r)),
      now,
    );
    for (const key of unique) {
      await this.putLease({
        key,
        token,
        host: HOST,
        pid: process.pid,
        ingest_id: 0,
        acquired_at: now,
        renewed_at: now,
        released: 0,
      });
    }
    const live = (await this.liveLeases()).filter((r) => alive(r, now) && unique.includes(r.key));
    for (const key of unique) {
      const claims = live
        .filter((r) => r.key === key)
        .sort((a, b) => a.acquired_at - b.acquired_at || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
      const winner = claims[0];
      if (winner && winner.token !== token) {
        await this.releaseLease({ keys: unique, token });
        throw new LeaseHeld(
          `${what} is being stored by another flowpol run (process ${winner.pid} on ${winner.host}, since ${new Date(winner.acquired_at).toISOString()}); this run stored nothing from it`,
          undefined,
          hint,
        );
      }
    }
    return { keys: unique, token };
  }

  async bindLease(lease: Lease, ingestId: number, now: number): Promise<void> {
    for (const key of lease.keys) {
      await this.putLease({
        key,
        token: lease.token,
        host: HOST,
        pid: process.pid,
        ingest_id: ingestId,
        acquired_at: now,
        renewed_at: now,
        released: 0,
      });
    }
  }

  async renewLease(lease: Lease, now: number): Promise<void> {
    const rows = (await this.liveLeases()).filter((r) => r.token === lease.token);
    for (const r of rows) await this.putLease({ ...r, renewed_at: now });
  }

  async releaseLease(lease: Lease): Promise<void> {
    for (const key of lease.keys) {
      await this.putLease({
        key,
        token: lease.token,
        host: HOST,
        pid: process.pid,
        ingest_id: 0,
        acquired_at: 0,
        renewed_at: 0,
        released: 1,
      });
    }
  }

  /** Marks `running` ingests that no live lease protects (their run was killed) as failed. */
  private async closeUnleasedIngests(live: LeaseRow[], now: number): Promise<void> {
    const protectedIds = new Set(live.map((r) => r.ingest_id));
    const rows = (await this.reader.ingests("1")).filter((r) => r.status === "running" && !protectedIds.has(r.id));
    for (const r of rows) await this.putIngest({ ...r, status: "failed", finished_at: now });
  }

  // --- reads --------------------------------------------------------------------------------------

  readGraphInput(scope: Scope): Promise<GraphInput> {
    return this.reader.graphInput(scope);
  }

  readObserved(window: ObservedWindow = {}): Promise<Observed> {
    return this.reader.observed(window);
  }

  readStoreSnapshot(): Promise<StoreSnapshot> {
    return this.reader.snapshot();
  }

  storeStats(): Promise<StoreStats> {
    return this.reader.stats();
  }

  /** Every row of the ingest log (with progress), for tests and tools. */
  ingests(): Promise<IngestRow[]> {
    return this.reader.ingests();
  }
}

interface LeaseRow {
  key: string;
  token: string;
  host: string;
  pid: number;
  ingest_id: number;
  acquired_at: number;
  renewed_at: number;
  released: number;
}

function alive(row: LeaseRow, now: number): boolean {
  if (row.host !== HOST) return now - row.renewed_at < LEASE_TTL_MS;
  try {
    process.kill(row.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function gapRow(g: GapRecord, batch: string, seq: number): object {
  return {
    batch,
    seq,
    source_system: g.system,
    kind: g.kind,
    node: g.node,
    detail: g.detail,
    count: g.count,
    first_seen: g.time,
    last_seen: g.time,
    ingest_id: g.ingestId ?? 0,
  };
}

async function schemaVersionOf(conn: Connection, database: string): Promise<number | undefined> {
  const exists = await conn.query<{ n: number }>(
    `SELECT count() AS n FROM system.tables WHERE database = ${literal(database)} AND name = 'flowpol_schema'`,
  );
  if (!exists[0]?.n) return undefined;
  const [row] = await conn.query<{ v: number; n: number }>(
    `SELECT max(version) AS v, count() AS n FROM \`${database}\`.flowpol_schema`,
  );
  return row?.n ? row.v : undefined;
}

/**
 * Creates the tables (idempotently) on the server connected to and, with a cluster, on each other
 * shard that answers HTTP on the same port under its host name (the usual deployment), then
 * records the version. A shard reached otherwise is checked by `checkShards`.
 */
async function migrate(conn: Connection, target: ClickHouseTarget): Promise<void> {
  await createOn(conn, target);
  if (!target.cluster) return;
  for (const s of await shardsOf(conn, target.cluster)) {
    if (s.is_local) continue;
    const host = s.host_name.includes(":") ? `[${s.host_name}]` : s.host_name;
    const other = new Connection(target, `${target.tls ? "https" : "http"}://${host}:${target.port}`);
    try {
      // The same host and port may be this server again (shards on one host): only the shard itself creates.
      const [me] = await other.query<{ n: number }>(
        `SELECT count() AS n FROM system.clusters WHERE cluster = ${literal(target.cluster)} AND shard_num = ${literal(s.shard_num)} AND is_local = 1`,
      );
      if (me?.n) await createOn(other, target);
    } catch {
      // Not reachable this way: checkShards names the shard.
    } finally {
      await other.close();
    }
  }
}

async function createOn(conn: Connection, target: ClickHouseTarget): Promise<void> {
  for (const sql of createStatements(target.database, target.cluster)) await conn.command(sql);
  const version = await schemaVersionOf(conn, target.database);
  if (version === undefined || version < SCHEMA_VERSION) {
    await conn.insert(`\`${target.database}\`.flowpol_schema`, [
      {
        version: SCHEMA_VERSION,
        description: "flowpol store on ClickHouse: batches, edges, endpoints, pods, ingest log",
        applied_at: Date.now(),
      },
    ]);
  }
}

interface ShardRow {
  shard_num: number;
  host_name: string;
  host_address: string;
  port: number;
  is_local: number;
}

async function shardsOf(conn: Connection, cluster: string): Promise<ShardRow[]> {
  return conn.query<ShardRow>(
    `SELECT shard_num, host_name, host_address, port, is_local FROM system.clusters WHERE cluster = ${literal(cluster)} ORDER BY shard_num, replica_num`,
  );
}

async function checkCluster(conn: Connection, target: ClickHouseTarget): Promise<void> {
  const shards = await shardsOf(conn, target.cluster as string);
  if (shards.length === 0) {
    const known = (
      await conn.query<{ cluster: string }>("SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster")
    ).map((r) => r.cluster);
    throw new UsageError(
      `the ClickHouse server ${target.display} has no cluster ${JSON.stringify(target.cluster)} in its remote_servers`,
      known.length > 0
        ? `name one of: ${known.join(", ")}`
        : "define the cluster in the server's remote_servers, or leave out ?cluster=",
    );
  }
}

/**
 * With a cluster, every shard must hold the local tables (18.16 has no ON CLUSTER without
 * ZooKeeper, so flowpol creates them on each server it is pointed at). Checked from the server
 * over its own connections to the shards (`remote()`): a shard without them is named.
 */
async function checkShards(conn: Connection, target: ClickHouseTarget): Promise<void> {
  const shards = await shardsOf(conn, target.cluster as string);
  const expected = TABLES.map((t) => `${t.name}_local`);
  for (const s of shards) {
    if (s.is_local) continue;
    const address = `${s.host_address.includes(":") ? `[${s.host_address}]` : s.host_address}:${s.port}`;
    const rows = await conn.query<{ name: string }>(
      `SELECT name FROM remote(${literal(address)}, system.tables) WHERE database = ${literal(target.database)} AND name IN ${literalList(expected)}`,
    );
    if (rows.length < expected.length) {
      throw new UsageError(
        `shard ${s.shard_num} of the cluster ${target.cluster} (${s.host_name}, TCP port ${s.port}) has no flowpol tables in the database ${target.database}`,
        `point flowpol at that shard once with a writing command, e.g. \`flowpol ingest --db clickhouse://${s.host_name}:8123/${target.database}?cluster=${target.cluster} FILE\` (ClickHouse 18.16 has no ON CLUSTER without ZooKeeper: flowpol creates the local tables on each server it is pointed at)`,
      );
    }
  }
}
