import { describe, expect, it } from "vitest";
import { formatFlagTime, parseDurationMs, parseTimeFlag } from "../../src/cli/time-flags.js";

const NOW = Date.parse("2026-01-02T12:00:00Z");

describe("time flags", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["0", 0],
  ])("reads the duration %s as %d ms", (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(["", "soon", "5", "1d", "m5"])("rejects %j as a duration", (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it.each([
    ["1h", "2026-01-02T11:00:00.000000000Z"],
    ["2026-01-02T15:04:05Z", "2026-01-02T15:04:05.000000000Z"],
    ["2026-01-02T15:04:05.123456789Z", "2026-01-02T15:04:05.123456789Z"],
    ["2026-01-02T17:04:05.5+02:00", "2026-01-02T15:04:05.500000000Z"],
  ])("reads --since %s as %s, to the nanosecond", (text, expected) => {
    expect(formatFlagTime(parseTimeFlag("--since", text, NOW))).toBe(expected);
  });

  it("names the flag and the accepted forms for a bad time", () => {
    expect(() => parseTimeFlag("--until", "yesterday", NOW)).toThrow(/--until "yesterday" is neither a duration/);
  });
});
