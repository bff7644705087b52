import { type ServiceError, status } from "@grpc/grpc-js";
import { SourceError } from "../../errors.js";
import { classifyGrpcError } from "../grpc/errors.js";
import type { GoldmaneClient } from "./client.js";
import { ListRead } from "./list-pages.js";
import { goldmaneErrors } from "./service.js";

/**
 * What a List run reads and how: the ranges from the stored cursor, each read whole through pages
 * (see ListRead), with Goldmane's clock deciding every bound.
 */

/** The cursor a run starts from: every window before `start` is stored, and these keys of it. */
export interface StoredCursor {
  start: number;
  keys: readonly string[];
}

export interface ListReadOptions {
  server: string;
  pageSize?: number;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Goldmane's aggregation window (AGGREGATION_WINDOW, default 15 s; Stream requires it). */
export const WINDOW_SECONDS = 15;
/** List reads windows that ended this long before Goldmane's now (Stream's delay): later ones may still be filling. */
const SETTLE_SECONDS = 2 * WINDOW_SECONDS;
/** Re-reads of the pages cut inside a tie before a read gives up, and reads of a range that moved. */
const MAX_TIE_ROUNDS = 40;
const MAX_READS = 4;

export interface ListRange {
  /** Goldmane's times: absolute Unix seconds, 0 for its oldest window or now, negative relative to now. */
  gte: number;
  lt: number;
  /** Keys whose records in this range are already stored. */
  skip?: ReadonlySet<string>;
}

/**
 * The ranges a List run reads. Without a cursor: from --since (relative, so Goldmane's clock
 * decides) or all it holds. With one: from its window on; when the cursor's window is only partly
 * stored (a stream stopped inside it), that window alone first, dropping the keys stored.
 * Always up to SETTLE_SECONDS before Goldmane's now.
 */
export function listRanges(stored: StoredCursor | undefined, sinceSeconds: number | undefined): ListRange[] {
  const lt = -SETTLE_SECONDS;
  if (!stored) return [{ gte: sinceSeconds !== undefined ? -sinceSeconds : 0, lt }];
  if (stored.keys.length === 0) return [{ gte: stored.start, lt }];
  return [
    { gte: stored.start, lt: stored.start + WINDOW_SECONDS, skip: new Set(stored.keys) },
    { gte: stored.start + WINDOW_SECONDS, lt },
  ];
}

/** Goldmane's answer to a range that is empty on its clock (a plain Go error: gRPC code UNKNOWN). */
function isEmptyRange(err: unknown): boolean {
  const e = err as Partial<ServiceError>;
  return (
    (e.code === status.UNKNOWN || e.code === status.INVALID_ARGUMENT) &&
    /startTimeGt? \(-?\d+\) must be less than startTimeLt/.test(e.details ?? "")
  );
}

/** Every record of one range, read by pages until complete (see ListRead). */
export async function readRange(
  client: GoldmaneClient,
  range: ListRange,
  options: ListReadOptions,
  onPage: (records: number) => void,
): Promise<ListRead | undefined> {
  const pageSize = options.pageSize ?? 1000;
  const timeoutMs = options.connectTimeoutMs ?? 30_000;
  let tieShortfall = 0;
  for (let attempt = 0; attempt < MAX_READS; attempt++) {
    const read = new ListRead();
    const fetch = async (page: number) => {
      if (options.signal?.aborted) throw new Aborted();
      const result = await client
        .list(
          {
            startTimeGte: BigInt(range.gte),
            startTimeLt: BigInt(range.lt),
            page: BigInt(page),
            pageSize: BigInt(pageSize),
          },
          timeoutMs,
        )
        .catch((err) => {
          if (isEmptyRange(err)) return undefined;
          throw classifyGrpcError(err, goldmaneErrors(options.server, timeoutMs)).error;
        });
      if (result === undefined) return false;
      read.add(page, {
        flows: result.flows.flatMap((r) => (r.flow ? [r.flow] : [])),
        totalPages: Number(result.meta?.totalPages ?? 0n),
        totalResults: Number(result.meta?.totalResults ?? 0n),
      });
      onPage(result.flows.length);
      return true;
    };
    if (!(await fetch(0))) return undefined;
    // One page is one answer, consistent by itself.
    if (read.totalPages <= 1 && read.complete) return read;
    for (let page = 1; page < read.totalPages && !read.moved; page++) await fetch(page);
    for (let round = 0; round < MAX_TIE_ROUNDS && !read.moved && read.missing > 0; round++) {
      for (const page of read.unsettledPages()) await fetch(page);
    }
    if (read.moved) continue;
    if (!read.complete) {
      tieShortfall = read.missing;
      continue;
    }
    // A second read of every page proves the range held still while it was read.
    for (let page = 0; page < read.totalPages && !read.moved; page++) await fetch(page);
    if (read.complete) return read;
  }
  throw new SourceError(
    tieShortfall > 0
      ? `Goldmane at ${options.server}: ${tieShortfall} flow records were on no page after ${MAX_TIE_ROUNDS} re-reads (its pages order ties at random); nothing was stored`
      : `Goldmane at ${options.server}: its flows kept changing while flowpol paged through them (${MAX_READS} reads); nothing was stored`,
    `raise --page-size above the number of flow keys Goldmane holds, so one page holds them all, or run again`,
  );
}

/** Thrown when the signal fires between pages. */
export class Aborted extends Error {}
