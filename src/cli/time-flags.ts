import { UsageError } from "../errors.js";

/** A point in time with nanosecond precision (protobuf Timestamp shape, seconds as a number). */
export interface FlagTime {
  seconds: number;
  nanos: number;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/;
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/** A Go-style duration (`90s`, `1h30m`, `500ms`) in milliseconds, or undefined if it is not one. */
export function parseDurationMs(text: string): number | undefined {
  let rest = text.trim();
  if (rest === "" || rest === "0") return rest === "0" ? 0 : undefined;
  let total = 0;
  while (rest.length > 0) {
    const m = DURATION.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return total;
}

/**
 * `--since`/`--until` as the hubble CLI takes them: a duration back from now (`1h`), or an RFC 3339
 * time (`2026-01-02T15:04:05.123456789Z`), kept to the nanosecond.
 */
export function parseTimeFlag(flag: string, value: string, now: number): FlagTime {
  const ago = parseDurationMs(value);
  if (ago !== undefined) {
    const ms = now - ago;
    return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms - Math.floor(ms / 1000) * 1000) * 1e6) };
  }
  const m = RFC3339.exec(value.trim());
  const whole = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(whole)) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} is neither a duration nor an RFC 3339 time`,
      `write ${flag} like 1h (one hour ago) or 2026-01-02T15:04:05Z`,
    );
  }
  return { seconds: whole / 1000, nanos: Number((m[2] ?? "").padEnd(9, "0")) };
}

export function formatFlagTime(t: FlagTime): string {
  const iso = new Date(t.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "");
  return `${iso}.${String(t.nanos).padStart(9, "0")}Z`;
}
