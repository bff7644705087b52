import { Option } from "commander";
import { UsageError } from "../errors.js";

/**
 * The one grammar of durations and times on flowpol's command line (docs/cli.md, "Durations and
 * times"), used by every flag that takes one:
 *
 * - a duration is one or more `<number><unit>` parts, Go-style and compound: `500ms`, `90s`,
 *   `1h30m`, `1.5h`, `1d`, `2w` (units ns, us/µs, ms, s, m, h, d = 24h, w = 7d), or `0`;
 * - a time is a duration back from now (`--since 1h`), or ISO 8601 / RFC 3339 with a zone
 *   (`2026-01-02T15:04:05Z`, `2026-01-02T17:04:05.123456789+02:00`), or a date alone
 *   (`2026-01-02`, midnight UTC). A date-time without a zone is refused: it would depend on the
 *   machine's zone.
 */

/** A point in time with nanosecond precision (protobuf Timestamp shape, seconds as a number). */
export interface FlagTime {
  seconds: number;
  nanos: number;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const PART = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2}))?$/;

export const DURATION_EXAMPLES = "90s, 5m, 1h30m, 1d or 2w";
export const TIME_EXAMPLES = "a duration ago (1h, 1d) or ISO 8601 (2026-01-02T15:04:05Z, 2026-01-02)";

/** A duration in milliseconds, or undefined when the text is not one. */
export function parseDurationMs(text: string): number | undefined {
  let rest = text.trim();
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  while (rest.length > 0) {
    const m = PART.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Milliseconds as the grammar writes them: 12000 -> 12s, 5400000 -> 1h30m, 0 -> 0. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0";
  let rest = Math.round(ms);
  let text = "";
  for (const unit of ["w", "d", "h", "m", "s", "ms"]) {
    const size = UNIT_MS[unit] as number;
    const n = Math.floor(rest / size);
    if (n > 0) text += `${n}${unit}`;
    rest -= n * size;
  }
  return text;
}

/** An absolute time to the nanosecond, or undefined when the text is not ISO 8601 with a zone. */
export function parseIsoTime(text: string): FlagTime | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((s) => Number(s ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(utc);
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  const ms = utc - zoneOffsetMs(m[8]);
  return { seconds: ms / 1000, nanos: Number((m[7] ?? "").padEnd(9, "0")) };
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === "Z") return 0;
  const digits = zone.slice(1).replace(":", "");
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return (zone.startsWith("-") ? -1 : 1) * minutes * 60_000;
}

/** `--since`/`--until`: a duration back from `now`, or an absolute time; kept to the nanosecond. */
export function parseTimeFlag(flag: string, value: string, now: number): FlagTime {
  const ago = parseDurationMs(value);
  if (ago !== undefined) {
    const ms = now - ago;
    const seconds = Math.floor(ms / 1000);
    return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
  }
  const at = parseIsoTime(value);
  if (at === undefined) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} is neither a duration nor an ISO 8601 time`,
      `write ${flag} as ${TIME_EXAMPLES}; a date-time needs its zone (Z or +02:00)`,
    );
  }
  return at;
}

/** The same, in epoch milliseconds (sub-millisecond digits dropped). */
export function parseTimeMs(flag: string, value: string, now: number): number {
  const t = parseTimeFlag(flag, value, now);
  return t.seconds * 1000 + Math.floor(t.nanos / 1e6);
}

export function formatFlagTime(t: FlagTime): string {
  const iso = new Date(t.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "");
  return `${iso}.${String(t.nanos).padStart(9, "0")}Z`;
}

/** A duration flag's value parser: the milliseconds, or a usage error naming the flag. */
export function durationParser(flag: string, options: { allowZero?: boolean } = {}) {
  return (value: string): number => {
    const ms = parseDurationMs(value);
    if (ms === undefined || (ms === 0 && !options.allowZero)) {
      throw new UsageError(
        `${flag} ${JSON.stringify(value)} is not a duration${ms === 0 ? " longer than 0" : ""}`,
        `write it like ${DURATION_EXAMPLES}`,
      );
    }
    return ms;
  };
}

/**
 * A duration option whose default is shown as written (`12s`), never in milliseconds. `flags` is
 * commander's spelling, e.g. `--timeout <duration>`.
 */
export function durationOption(flags: string, description: string, defaultValue?: string): Option {
  const flag = flags.split(/[ ,]/).find((f) => f.startsWith("--")) ?? flags;
  const option = new Option(flags, description).argParser(durationParser(flag));
  if (defaultValue === undefined) return option;
  return option.default(durationParser(flag)(defaultValue), defaultValue);
}

/**
 * A time option (`--since <time>`): checked when the command line is read, kept as written, and
 * turned into a point in time by parseTimeFlag/parseTimeMs against the command's `now`.
 */
export function timeOption(flags: string, description: string): Option {
  const flag = flags.split(/[ ,]/).find((f) => f.startsWith("--")) ?? flags;
  return new Option(flags, `${description}: ${TIME_EXAMPLES}`).argParser((value: string) => {
    parseTimeFlag(flag, value, 0);
    return value;
  });
}

/** Epoch milliseconds as ISO 8601 (UTC), the one time format of flowpol's JSON output. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `--since`/`--until` as a window in epoch ms (either open); refused when since is after until. */
export function parseWindow(
  flags: { since?: string | undefined; until?: string | undefined },
  now: number,
): { since?: number; until?: number } {
  const window: { since?: number; until?: number } = {};
  if (flags.since !== undefined) window.since = parseTimeMs("--since", flags.since, now);
  if (flags.until !== undefined) window.until = parseTimeMs("--until", flags.until, now);
  if (window.since !== undefined && window.until !== undefined && window.since > window.until) {
    throw new UsageError("--since is after --until", "swap them, or widen the window");
  }
  return window;
}
