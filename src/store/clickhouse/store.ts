import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Observed } from "../../diff/observed.js";
import { InputError, UsageError } from "../../errors.js";
import type { GraphInput, Scope } from "../../graph/input.js";
import type { Batch } from "../../model/batch.js";
import type { CollectCursor } from "../collect-cursor.js";
import type { IngestRow } from "../ingest-log.js";
import { LEASE_TTL_MS, type Lease, LeaseHeld } from "../lease.js";
import type { StoreSnapshot } from "../read-report.js";
import type { StoreStats } from "../stats.js";
import type {
  BatchCommit,
  BeginIngest,
  Committed,
  FlowStore,
  ObservedWindow,
  StoredWholeInput,
  StoreGapRecord,
  WholeInput,
} from "../store.js";
import { batchRows } from "./batch-rows.js";
import { Connection } from "./connection.js";
import { Reader } from "./reads.js";
import { createStatements, SCHEMA_VERSION, TABLES, upgradeStatements } from "./schema.js";
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

/** Claims that collide are tried again this often while the other claim is younger than CONTENDED_MS. */
const CLAIM_ATTEMPTS = 6;
const CONTENDED_MS = 5_000;

/** How often a run that keeps committing renews its lease (the lease lapses after LEASE_TTL_MS). */
const RENEW_MS = 60_000;

const HOST = hostname();

export class ClickHouseStore implements FlowStore {
  private readonly reader: Reader;
  private lastVersion = 0;
  /** The lease rows this run holds, to renew them without reading. */
  private readonly held = new Map<string, { rows: LeaseRow[]; renewedAt: number }>();

  private constructor(
    private readonly conn: Connection,
    readonly target: ClickHouseTarget,
    private readonly tables: Tables,
    private readonly now: () => number,
  ) {
    this.reader = new Reader(conn, tables);
  }

  /** The store as messages name it: the URL without its password. */
  get location(): string {
    return this.target.display;
  }

  /** Opens the store named by a clickhouse:// URL, creating or migrating its schema when writing. */
  static async open(
    db: string,
    options: OpenOptions = {},
    now: () => number = Date.now,
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
      // Read-only, an older store stays as it is: it has no edge hours (schema 2) to read.
      if (options.readonly && (version ?? 0) < 2) tables.hourly = false;
      if (target.cluster) await checkShards(conn, target, tables.hourly !== false);
    } catch (err) {
      await conn.close();
      throw err;
    }
    return new ClickHouseStore(conn, target, tables, now);
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  /** A version for a versioned row: increasing within this process, time-based across processes. */
  private version(): number {
    this.lastVersion = Math.max(this.lastVersion + 1, Date.now() * 1000);
    return this.lastVersion;
  }

  private t(name: string): string {
    return this.tables.table(name);
  }

  // --- write side -------------------------------------------------------------------------------

  /**
   * Stores one batch with its progress, cursor and gaps, exactly once: its rows first, then its
   * commit row. The batch id comes from the ingest and the progress, so a batch written again
   * after a failure has the same id (merges drop the copy; reads count it once).
   */
  async commitBatch(commit: BatchCommit): Promise<Committed> {
    const id = batchId(commit.ingestId, commit.progress, "");
    await this.stage(commit.batch, id, commit.ingestId, commit.system, commit.gaps ?? []);
    await this.conn.insert(this.t("batches"), [this.commitRow(commit.batch, id, commit, "")]);
    if (commit.lease) await this.renew(commit.lease);
    // Flow uuids are not de-duplicated across inputs here (docs/clickhouse.md): everything counts.
    return { duplicates: 0, flows: commit.batch.flows, replies: commit.batch.replies };
  }

  /**
   * Stores a whole input at once (stdin, --strict, JSON arrays): every batch's rows, then one
   * insert of all their commit rows, which also carry the complete ingest-log row. That insert is
   * one block on one shard (`batches` is sharded by ingest): all of the input counts, or none.
   */
  async storeWholeInput(whole: WholeInput): Promise<StoredWholeInput> {
    const ingestId = this.newIngestId();
    const row = {
      id: ingestId,
      ...whole.row,
      format: whole.format ?? whole.row.format,
      status: "complete",
      started_at: whole.startedAt,
      finished_at: this.now(),
      finished: 1,
    };
    const commits: object[] = [];
    for (const [i, batch] of whole.batches.entries()) {
      const id = batchId(ingestId, whole.progress, String(i));
      await this.stage(batch, id, ingestId, whole.system, []);
      commits.push(this.commitRow(batch, id, { ingestId, progress: whole.progress }, JSON.stringify(row)));
    }
    if (commits.length === 0) {
      commits.push(
        this.commitRow(
          undefined,
          batchId(ingestId, whole.progress, "empty"),
          { ingestId, progress: whole.progress },
          JSON.stringify(row),
        ),
      );
    }
    await this.conn.insert(this.t("batches"), commits);
    const sum = (key: "flows" | "replies") => whole.batches.reduce((n, b) => n + b[key], 0);
    return { ingestId, duplicates: 0, flows: sum("flows"), replies: sum("replies") };
  }

  /** Renews at most every RENEW_MS; a live session calls it on a timer while nothing is stored. */
  renewLease(lease: Lease): Promise<void> {
    return this.renew(lease);
  }

  /** No flow uuids are kept in ClickHouse (docs/clickhouse.md). */
  async newestUuidTime(): Promise<number | undefined> {
    return undefined;
  }

  /** Inserts a batch's data rows; they count only once a commit row names the batch. */
  private async stage(
    batch: Batch,
    id: string,
    ingestId: number,
    system: string,
    gaps: StoreGapRecord[],
  ): Promise<void> {
    const rows = batchRows(batch, id, ingestId, system);
    rows.gaps.push(...gaps.map((g, i) => gapRow(g, system, ingestId, id, batch.lost.length + i)));
    // One table at a time: a few large inserts on a small server, and a failure stops the rest.
    for (const [table, list] of Object.entries(rows)) await this.conn.insert(this.t(table), list);
  }

  private commitRow(
    batch: Batch | undefined,
    id: string,
    commit: Pick<BatchCommit, "ingestId" | "progress" | "cursor">,
    whole: string,
  ): object {
    return {
      batch: id,
      ingest_id: commit.ingestId,
      end_offset: commit.progress.bytesDone,
      lines_done: commit.progress.linesDone,
      content_hash: commit.progress.contentHash,
      flows: batch?.flows ?? 0,
      replies: batch?.replies ?? 0,
      skipped: batch?.skipped ?? 0,
      bad: batch?.bad ?? 0,
      lost: batch ? batch.lost.reduce((n, l) => n + l.lost, 0) : 0,
      cursor_source: commit.cursor?.source ?? "",
      cursor_seconds: commit.cursor?.cursor.seconds ?? 0,
      cursor_nanos: commit.cursor?.cursor.nanos ?? 0,
      cursor_keys: commit.cursor ? JSON.stringify(commit.cursor.cursor.keys) : "",
      committed_at: this.now(),
      whole,
    };
  }

  // --- ingest log ---------------------------------------------------------------------------------

  private newIngestId(): number {
    return Date.now() * 1000 + Math.floor(Math.random() * 1000);
  }

  /** Starts (or reopens) an ingest-log row and binds the lease to it. */
  async beginIngest(begin: BeginIngest, lease: Lease): Promise<number> {
    let id: number;
    if (begin.resume) {
      id = begin.resume.id;
      const row = await this.getIngest(id);
      await this.putIngest({
        ...row,
        status: "running",
        finished_at: null,
        head_hash: begin.headHash,
        path: begin.path,
      });
    } else {
      if (begin.closeStaleSessions) await this.closeStaleSessions(begin.row.path);
      id = this.newIngestId();
      await this.putIngest({ id, ...begin.row, status: "running", started_at: this.now(), finished_at: null });
    }
    await this.bindLease(lease, id);
    return id;
  }

  private async putIngest(
    row: Pick<
      IngestRow,
      "id" | "source_system" | "kind" | "path" | "format" | "head_hash" | "status" | "started_at" | "finished_at"
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
    const row = (await this.reader.ingests()).find((r) => r.id === id);
    if (!row) throw new InputError(`no ingest ${id} in the ClickHouse store ${this.target.display}`);
    return row;
  }

  /** Every row of the ingest log, with the progress of its committed batches. */
  ingests(): Promise<IngestRow[]> {
    return this.reader.ingests();
  }

  async findPriorIngests(headHash: string, path: string): Promise<IngestRow[]> {
    const rows = await this.reader.ingests();
    return rows
      .filter((r) => r.kind === "file" && r.content_hash !== "" && (r.head_hash === headHash || r.path === path))
      .sort((a, b) => b.bytes_done - a.bytes_done || b.id - a.id);
  }

  async findCompleteByContent(contentHash: string): Promise<IngestRow | undefined> {
    const rows = await this.reader.ingests();
    return rows.filter((r) => r.status === "complete" && r.content_hash === contentHash).sort((a, b) => a.id - b.id)[0];
  }

  async finishIngest(
    ingestId: number,
    status: "complete" | "failed",
    options: { format?: string; at?: number } = {},
  ): Promise<void> {
    const row = await this.getIngest(ingestId);
    await this.putIngest({
      ...row,
      status,
      finished_at: options.at ?? this.now(),
      format: options.format ?? row.format,
    });
  }

  // --- collector cursors --------------------------------------------------------------------------

  /** Where a collector left off: the cursor of its newest committed batch. */
  async loadCursor(source: string): Promise<CollectCursor | undefined> {
    const order = "tuple(committed_at, cursor_seconds, cursor_nanos, batch)";
    const [row] = await this.conn.query<{ seconds: number; nanos: number; keys: string }>(
      `SELECT argMax(cursor_seconds, ${order}) AS seconds, argMax(cursor_nanos, ${order}) AS nanos,
         argMax(cursor_keys, ${order}) AS keys, count() AS n
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

  /** Marks collection sessions of this source that were killed (still `running`) as failed. */
  private async closeStaleSessions(path: string): Promise<void> {
    const rows = (await this.reader.ingests()).filter(
      (r) => r.kind === "grpc" && r.path === path && r.status === "running",
    );
    for (const r of rows) await this.putIngest({ ...r, status: "failed", finished_at: this.now() });
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

  private async putLeases(rows: LeaseRow[]): Promise<void> {
    await this.conn.insert(
      this.t("leases"),
      rows.map((r) => ({ ...r, version: this.version() })),
    );
  }

  /**
   * Takes every key for this run, or none. Without transactions, a run claims its keys by
   * inserting them, then reads every live claim back: it holds them only if no other run's claim
   * is there. Two runs that claim at once may both see the other: both withdraw and try again
   * after a random pause (a few times while the other claim is fresh), so at most one ever holds a
   * key. Stale leases (their process gone, or not renewed for LEASE_TTL_MS) are released first,
   * and `running` ingests no live lease protects are marked failed.
   */
  async acquireLeases(keys: string[], what: string, hint: string): Promise<Lease> {
    const unique = [...new Set(keys)];
    const before = await this.liveLeases();
    const stale = before.filter((r) => !alive(r, this.now()));
    if (stale.length > 0) await this.putLeases(stale.map((r) => ({ ...r, released: 1 })));
    await this.closeUnleasedIngests(before.filter((r) => !stale.includes(r)));
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      const token = randomUUID();
      const mine = unique.map((key) => ({
        key,
        token,
        host: HOST,
        pid: process.pid,
        ingest_id: 0,
        acquired_at: now,
        renewed_at: now,
        released: 0,
      }));
      await this.putLeases(mine);
      const others = (await this.liveLeases())
        .filter((r) => r.token !== token && unique.includes(r.key) && alive(r, now))
        .sort((a, b) => a.acquired_at - b.acquired_at);
      if (others.length === 0) {
        this.held.set(token, { rows: mine, renewedAt: now });
        return { keys: unique, token };
      }
      await this.putLeases(mine.map((r) => ({ ...r, released: 1 })));
      const holder = others[0] as LeaseRow;
      if (attempt >= CLAIM_ATTEMPTS || now - holder.acquired_at > CONTENDED_MS) {
        throw new LeaseHeld(
          `${what} is being stored by another flowpol run (process ${holder.pid} on ${holder.host}, since ${new Date(holder.acquired_at).toISOString()}); this run stored nothing from it`,
          undefined,
          hint,
        );
      }
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
  }

  private async bindLease(lease: Lease, ingestId: number): Promise<void> {
    const held = this.held.get(lease.token);
    if (!held) return;
    const now = this.now();
    held.rows = held.rows.map((r) => ({ ...r, ingest_id: ingestId, renewed_at: now }));
    held.renewedAt = now;
    await this.putLeases(held.rows);
  }

  private async renew(lease: Lease): Promise<void> {
    const held = this.held.get(lease.token);
    const now = this.now();
    if (!held || now - held.renewedAt < RENEW_MS) return;
    held.rows = held.rows.map((r) => ({ ...r, renewed_at: now }));
    held.renewedAt = now;
    await this.putLeases(held.rows);
  }

  /** Never throws: a lease left behind is taken over once its process is gone. */
  async releaseLease(lease: Lease): Promise<void> {
    const held = this.held.get(lease.token);
    this.held.delete(lease.token);
    if (!held) return;
    try {
      await this.putLeases(held.rows.map((r) => ({ ...r, released: 1 })));
    } catch {
      // The error that stopped the run is the one reported.
    }
  }

  /** Marks `running` ingests that no live lease protects (their run was killed) as failed. */
  private async closeUnleasedIngests(live: LeaseRow[]): Promise<void> {
    const protectedIds = new Set(live.map((r) => r.ingest_id));
    const rows = (await this.reader.ingests()).filter((r) => r.status === "running" && !protectedIds.has(r.id));
    for (const r of rows) await this.putIngest({ ...r, status: "failed", finished_at: this.now() });
  }

  // --- reads --------------------------------------------------------------------------------------

  /** The Kubernetes clusters with flows, sorted. */
  clusters(): Promise<string[]> {
    return this.reader.clusters();
  }

  readGraphInput(scope: Scope, cluster: string): Promise<GraphInput> {
    return this.reader.graphInput(scope, cluster);
  }

  readObserved(window: ObservedWindow, cluster: string): Promise<Observed> {
    return this.reader.observed(window, cluster);
  }

  readSnapshot(cluster: string, window: ObservedWindow = {}): Promise<StoreSnapshot> {
    return this.reader.snapshot(cluster, window);
  }

  stats(cluster: string | undefined, window: ObservedWindow = {}): Promise<StoreStats> {
    return this.reader.stats(cluster, window);
  }
}

/** A batch's id: the ingest and where the input stands after it (and `part` within a whole input). */
function batchId(ingestId: number, progress: BatchCommit["progress"], part: string): string {
  return createHash("sha256")
    .update(
      `${ingestId}\u0000${progress.bytesDone}\u0000${progress.linesDone}\u0000${progress.contentHash}\u0000${part}`,
    )
    .digest("hex")
    .slice(0, 32);
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

function gapRow(g: StoreGapRecord, system: string, ingestId: number, batch: string, seq: number): object {
  return {
    batch,
    seq,
    source_system: system,
    kind: g.kind,
    node: g.node,
    detail: g.detail,
    count: g.count,
    first_seen: g.time,
    last_seen: g.time,
    ingest_id: ingestId,
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
  const version = await schemaVersionOf(conn, target.database);
  for (const sql of createStatements(target.database, target.cluster)) await conn.command(sql);
  if (version !== undefined) {
    for (const sql of upgradeStatements(target.database, target.cluster, version)) await conn.command(sql);
  }
  if (version === undefined || version < SCHEMA_VERSION) {
    await conn.insert(`\`${target.database}\`.flowpol_schema`, [
      {
        version: SCHEMA_VERSION,
        description: "flowpol store on ClickHouse: batches, edges and their hours, endpoints, pods, ingest log",
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
async function checkShards(conn: Connection, target: ClickHouseTarget, hourly: boolean): Promise<void> {
  const shards = await shardsOf(conn, target.cluster as string);
  // An older store read as it is has no `edge_hours` yet (schema 2).
  const expected = TABLES.filter((t) => hourly || t.name !== "edge_hours").map((t) => `${t.name}_local`);
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
