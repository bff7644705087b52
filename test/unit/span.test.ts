import { describe, expect, it } from "vitest";
import { formatSpan } from "../../src/report/span.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe("formatSpan", () => {
  it.each([
    [0, "0 s"],
    [42_000, "42 s"],
    [59_400, "59 s"],
    [90_000, "2 min"],
    [45 * MIN, "45 min"],
    [5 * HOUR + 20 * MIN, "5 h 20 min"],
    [3 * HOUR, "3 h"],
    [23 * HOUR + 59 * MIN, "23 h 59 min"],
    [DAY, "1 day"],
    [1.7 * DAY, "1.7 days"],
    [14 * DAY, "14 days"],
  ])("shows %d ms as %s", (ms, text) => {
    expect(formatSpan(ms)).toBe(text);
  });
});
