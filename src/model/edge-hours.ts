import type { EdgeAggregate, HourCount } from "./batch.js";

/**
 * Per-edge counts by hour, so a time window counts the flows inside it (docs/design.md, "Time
 * windows"). An hour is `floor(time / HOUR_MS)`, in UTC; a window is rounded out to whole hours.
 *
 * Each hour counts like its edge: flows add, and a connection reported by both Calico ends counts
 * once (the larger end). Invariant: an edge's hours sum to its count, but for a connection whose two
 * reports fall in different hours (each hour counts its own larger end).
 *
 * The hour `UNKNOWN_HOUR` holds flows whose hour is not known (stored before hourly counts, or
 * written by a batch without them): they lie somewhere in its first..last span.
 */
export const HOUR_MS = 3_600_000;
export const UNKNOWN_HOUR = -1;

export function hourOf(time: number): number {
  return Math.floor(time / HOUR_MS);
}

/**
 * Adds `count` flows seen at `time` to the edge's hour; `reporter` as on the flow (Calico). Flows
 * summed over `time`..`seenUntil` (a Goldmane List record) across an hour's end are of an unknown
 * hour in that span.
 */
export function countHour(
  edge: EdgeAggregate,
  time: number,
  count: number,
  reporter?: "src" | "dst",
  seenUntil = time,
): void {
  if (count === 0) return;
  edge.hours ??= [];
  const hours = edge.hours;
  const hour = hourOf(seenUntil) === hourOf(time) ? hourOf(time) : UNKNOWN_HOUR;
  let h = hours.at(-1);
  if (h?.hour !== hour) h = hours.find((x) => x.hour === hour);
  if (!h) {
    h = { hour, first: time, last: seenUntil, count: 0, srcReported: 0, dstReported: 0 };
    hours.push(h);
  }
  if (time < h.first) h.first = time;
  if (seenUntil > h.last) h.last = seenUntil;
  if (reporter === undefined) {
    h.count += count;
    return;
  }
  const before = Math.max(h.srcReported, h.dstReported);
  if (reporter === "src") h.srcReported += count;
  else h.dstReported += count;
  h.count += Math.max(h.srcReported, h.dstReported) - before;
}

/** The hours of an edge, or one unknown hour holding its whole count when it has none. */
export function hoursOf(edge: EdgeAggregate): HourCount[] {
  if (edge.hours) return edge.hours;
  return [
    {
      hour: UNKNOWN_HOUR,
      first: edge.first,
      last: edge.last,
      count: edge.count,
      srcReported: edge.srcReported,
      dstReported: edge.dstReported,
    },
  ];
}

/** Folds `from`'s hours into `into`'s (batches merged): the merge rule of whole edges, per hour. */
export function mergeHours(into: EdgeAggregate, from: EdgeAggregate): void {
  const hours = hoursOf(into);
  into.hours = hours;
  for (const f of hoursOf(from)) {
    const h = hours.find((x) => x.hour === f.hour);
    if (!h) {
      hours.push({ ...f });
      continue;
    }
    const before = Math.max(h.srcReported, h.dstReported) + Math.max(f.srcReported, f.dstReported);
    h.srcReported += f.srcReported;
    h.dstReported += f.dstReported;
    h.count += f.count + Math.max(h.srcReported, h.dstReported) - before;
    h.first = Math.min(h.first, f.first);
    h.last = Math.max(h.last, f.last);
  }
}

/** A copy of the edge's hours, for a copy of the edge that will change. */
export function copyHours(edge: EdgeAggregate): Pick<EdgeAggregate, "hours"> {
  return edge.hours ? { hours: edge.hours.map((h) => ({ ...h })) } : {};
}

/** Takes `count` flows seen at `time` out of the edge's hour (a repeat of a stored flow dropped). */
export function uncountHour(edge: EdgeAggregate, time: number, count: number): void {
  if (!edge.hours) return;
  const hour = hourOf(time);
  const at = edge.hours.findIndex((h) => h.hour === hour);
  const h = edge.hours[at];
  if (!h) return;
  h.count -= count;
  if (h.count <= 0) edge.hours.splice(at, 1);
}

/** A window rounded out to whole hours: the hours it counts and the times they cover. */
export interface HourWindow {
  /** First and last hour counted. */
  fromHour: number;
  toHour: number;
  /** What the window covers (ms): `fromHour`'s start to the last millisecond of `toHour`. */
  since: number;
  until: number;
}

/** The whole hours around `since..until` (either open: as far as the store goes). */
export function hourWindow(since: number | undefined, until: number | undefined): HourWindow {
  const fromHour = since === undefined ? hourOf(Number.MIN_SAFE_INTEGER) + 1 : hourOf(since);
  const toHour = until === undefined ? hourOf(Number.MAX_SAFE_INTEGER) - 1 : hourOf(until);
  return { fromHour, toHour, since: fromHour * HOUR_MS, until: (toHour + 1) * HOUR_MS - 1 };
}

/**
 * The window a read counted: whole hours, `since`..`until` in ms. `uncertain` flows are of an
 * unknown hour whose edge span only meets the window: counted, though some may lie outside it.
 */
export interface CountWindow {
  since: number;
  until: number;
  uncertain: number;
}

/** The hour window of a `--since`/`--until` pair, or undefined when both are open (no window). */
export function windowOf(window: { since?: number | undefined; until?: number | undefined }): HourWindow | undefined {
  if (window.since === undefined && window.until === undefined) return undefined;
  return hourWindow(window.since, window.until);
}

/** What a window's counts are: the whole hours counted, and flows of an unknown hour among them. */
export function windowLines(w: CountWindow): string[] {
  const open = (ms: number, end: string) =>
    Math.abs(ms) >= OPEN_END ? `(${end} of the store)` : new Date(ms).toISOString();
  const out = [
    `Counts are the window's: flows from ${open(w.since, "start")} to ${open(w.until, "end")} (--since/--until rounded out to whole hours: the store counts flows per edge and hour).`,
  ];
  if (w.uncertain > 0) {
    out.push(
      `${w.uncertain} of these flows have no known hour (stored before hourly counts, or a Goldmane List sum over more than an hour): counted because their connection's first-to-last span meets the window, some may lie outside it.`,
    );
  }
  return out;
}

/** Further than this from 1970 (about 285,000 years): an open end of a window. */
const OPEN_END = 9e15;

/** A window in JSON output: ISO 8601 times (an open end is null) and the uncertain flows. */
export function isoWindow(w: CountWindow): { since: string | null; until: string | null; uncertainFlows: number } {
  const iso = (ms: number) => (Math.abs(ms) >= OPEN_END ? null : new Date(ms).toISOString());
  return { since: iso(w.since), until: iso(w.until), uncertainFlows: w.uncertain };
}
