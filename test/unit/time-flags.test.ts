import { describe, expect, it } from "vitest";
import {
  durationOption,
  durationParser,
  formatDurationMs,
  formatFlagTime,
  parseDurationMs,
  parseIsoTime,
  parseTimeFlag,
  parseTimeMs,
  timeOption,
} from "../../src/cli/time-flags.js";
import { UsageError } from "../../src/errors.js";

const NOW = Date.parse("2026-01-02T12:00:00Z");

describe("the duration grammar", () => {
  it.each([
    ["30s", 30_000],
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["1d", 86_400_000],
    ["1d12h", 129_600_000],
    ["2w", 1_209_600_000],
    ["1500us", 1.5],
    ["1500µs", 1.5],
    ["2000000ns", 2],
    ["0", 0],
  ])("reads %s as %d ms", (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(["", "soon", "5", "m5", "1y", "-5m", "1h 30m", "1h30", "h", "1.h", "5M"])("rejects %j", (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it.each([
    [0, "0"],
    [500, "500ms"],
    [12_000, "12s"],
    [300_000, "5m"],
    [5_400_000, "1h30m"],
    [86_400_000, "1d"],
    [1_209_600_000, "2w"],
    [90_061_001, "1d1h1m1s1ms"],
  ])("writes %d ms as %s, which reads back", (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
    expect(parseDurationMs(text)).toBe(ms);
  });

  it("a duration flag refuses 0 and names the flag, as a usage error", () => {
    expect(durationParser("--timeout")("12s")).toBe(12_000);
    expect(() => durationParser("--timeout")("0")).toThrow(/--timeout "0" is not a duration longer than 0/);
    expect(() => durationParser("--timeout")("12000")).toThrow(UsageError);
    expect(durationParser("--x", { allowZero: true })("0")).toBe(0);
  });

  it("shows a default in the grammar, never in milliseconds", () => {
    const option = durationOption("--request-timeout <duration>", "how long", "12s");
    expect(option.defaultValue).toBe(12_000);
    expect(option.defaultValueDescription).toBe("12s");
  });
});

describe("the time grammar", () => {
  it.each([
    ["1h", "2026-01-02T11:00:00.000000000Z"],
    ["1d", "2026-01-01T12:00:00.000000000Z"],
    ["1h30m", "2026-01-02T10:30:00.000000000Z"],
    ["90s", "2026-01-02T11:58:30.000000000Z"],
    ["2026-01-02T15:04:05Z", "2026-01-02T15:04:05.000000000Z"],
    ["2026-01-02t15:04:05z", "2026-01-02T15:04:05.000000000Z"],
    ["2026-01-02 15:04:05Z", "2026-01-02T15:04:05.000000000Z"],
    ["2026-01-02T15:04Z", "2026-01-02T15:04:00.000000000Z"],
    ["2026-01-02T15:04:05.123456789Z", "2026-01-02T15:04:05.123456789Z"],
    ["2026-01-02T17:04:05.5+02:00", "2026-01-02T15:04:05.500000000Z"],
    ["2026-01-02T10:04:05-0500", "2026-01-02T15:04:05.000000000Z"],
    ["2026-01-02", "2026-01-02T00:00:00.000000000Z"],
  ])("reads %s as %s, to the nanosecond", (text, expected) => {
    expect(formatFlagTime(parseTimeFlag("--since", text, NOW))).toBe(expected);
  });

  it.each([
    "yesterday",
    "2026-01-02T15:04:05",
    "2026-13-01",
    "2026-02-30",
    "2026-01-02T24:00:00Z",
    "2026-01-02T15:60:00Z",
    "1767355200000",
    "2026-01-02T15:04:05.1234567891Z",
  ])("refuses %j with the flag's name and the accepted forms", (text) => {
    expect(parseIsoTime(text)).toBeUndefined();
    expect(() => parseTimeFlag("--until", text, NOW)).toThrow(/--until .* is neither a duration nor an ISO 8601 time/);
  });

  it("gives epoch milliseconds for the flags that work in them", () => {
    expect(parseTimeMs("--since", "30m", NOW)).toBe(NOW - 1_800_000);
    expect(parseTimeMs("--since", "2026-01-02T15:04:05.123999Z", NOW)).toBe(Date.parse("2026-01-02T15:04:05.123Z"));
  });

  it("a time option checks the text when the command line is read and keeps it as written", () => {
    const option = timeOption("--since <time>", "flows since");
    const parse = option.parseArg as (value: string, previous: unknown) => unknown;
    expect(parse("1d", undefined)).toBe("1d");
    expect(() => parse("last tuesday", undefined)).toThrow(UsageError);
    expect(option.description).toMatch(/ISO 8601/);
  });
});
