import { describe, expect, it } from "vitest";
import { churnLines } from "../../bench/churn-traffic.js";
import { formatByName } from "../../src/collect/formats.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import { decoderFor, type RecordDecoder } from "../../src/collect/record.js";
import { simulatedLines } from "../helpers/simulated.js";

/**
 * Every format's decoder against its general path, line by line through the same batch, on the
 * simulator's traffic, on high-churn traffic (the bench's generator) and on churn followed by
 * traffic that repeats (the record templates stand aside, then come back). Hubble's decoder
 * has no text-level fast path, only its endpoint cache.
 */

function churn(format: "hubble" | "calico-level0" | "goldmane", records: number): string[] {
  return [...churnLines(format, records, 5).lines];
}

function compare(formatName: string, lines: string[]): number {
  const format = formatByName(formatName);
  const text = Buffer.from(`${lines.join("\n")}\n`);
  const fast = decoderFor(format);
  let repeats = 0;
  if (fast.decodeLine) {
    const decodeLine = fast.decodeLine.bind(fast);
    fast.decodeLine = (line) => {
      const record = decodeLine(line);
      if (record?.kind === "repeat") repeats++;
      return record;
    };
  }
  const general: RecordDecoder = { decode: (value) => format.toRecord(value) };
  if (format.items) general.items = format.items;
  const batch = parseChunk(text, 1, format, fast);
  expect(batch).toEqual(parseChunk(text, 1, format, general));
  expect(batch.bad).toBe(0);
  return repeats;
}

describe("fast paths on every shape", () => {
  it.each([
    ["hubble", "hubble"],
    ["calico", "calico-level0"],
    ["goldmane", "goldmane"],
  ] as const)("%s: high-churn lines aggregate exactly as on the general path", (format, shape) => {
    compare(format, churn(shape, 4000));
  });

  it.each([
    ["calico", "calico-level0"],
    ["goldmane", "goldmane"],
  ] as const)("%s: after churn, lines that repeat take the fast path again", (format, shape) => {
    const repeating = simulatedLines(shape, 4000);
    const lines = [...churn(shape, 3000), ...repeating, ...repeating];
    const repeats = compare(format, lines);
    expect(repeats).toBeGreaterThan(repeating.length / 2);
  });
});
