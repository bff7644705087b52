import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatByName } from "../../src/collect/formats.js";
import { decoderFor, type RecordDecoder } from "../../src/collect/record.js";
import { batchOf, changedLineBatches, fastBatch, withMember } from "../helpers/fast-path.js";
import { SHARED_CALICO } from "../helpers/paths.js";
import { sharedFiles } from "../helpers/shared.js";
import { simulatedLines } from "../helpers/simulated.js";

const goldmane = formatByName("goldmane");
/** The general path only: JSON.parse, then the record converter. */
const GENERAL: RecordDecoder = { decode: (value) => goldmane.toRecord(value) };
const decoder = () => decoderFor(goldmane);

/** A protobuf-JSON record (camelCase, int64 as strings) as the Go emitter writes it: snake_case, numbers. */
function snakeCase(line: string): string {
  const obj = JSON.parse(line) as Record<string, unknown>;
  const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k === "Key" ? "key" : snake(k)] = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  }
  return JSON.stringify(out);
}

describe("the Goldmane fast path", () => {
  const base = simulatedLines("goldmane", 600);

  it("aggregates the simulator's records exactly as the general path does, mostly without parsing", () => {
    expect(base.length).toBeGreaterThan(200);
    const { batch, repeats } = fastBatch(base, decoder());
    expect(batch).toEqual(batchOf(base, GENERAL));
    expect(repeats).toBeGreaterThan(base.length / 2);
  });

  it("does the same with the Go emitter's spelling (snake_case keys, numbers)", () => {
    const lines = base.map(snakeCase);
    const { batch, repeats } = fastBatch(lines, decoder());
    expect(batch).toEqual(batchOf(lines, GENERAL));
    expect(repeats).toBeGreaterThan(lines.length / 2);
  });

  it.each<[string, (line: string) => string]>([
    ["spaces after colons (grpcurl)", (l) => l.replaceAll('":', '": ')],
    ["another field order", (l) => JSON.stringify({ packetsIn: "1", ...JSON.parse(l) })],
    ["a connection count as a number", (l) => withMember(l, "numConnectionsLive", "9")],
    ["a count with a leading zero", (l) => withMember(l, "numConnectionsStarted", '"012"')],
    ["a negative count", (l) => withMember(l, "numConnectionsLive", '"-3"')],
    ["a fractional count", (l) => withMember(l, "numConnectionsLive", "2.5")],
    ["a huge count", (l) => withMember(l, "numConnectionsLive", '"12345678901234567890"')],
    ["a start time that is not a number", (l) => withMember(l, "startTime", '"soon"')],
    ["no start time", (l) => l.replace(/"startTime":"\d+",/, "")],
    ["both spellings of the start time (the snake_case one is read)", (l) => l.replace(/}$/, ',"start_time":17}')],
    ["both spellings of a count", (l) => l.replace(/}$/, ',"num_connections_live":40}')],
    ["a repeated key (the last one counts)", (l) => l.replace(/}$/, ',"numConnectionsLive":"40"}')],
    ["labels that differ", (l) => l.replace('"app=', '"team=x","app=')],
    ["an unknown member with digits", (l) => l.replace(/}$/, ',"nodeId":"12"}')],
    ["a FlowResult envelope", (l) => JSON.stringify({ id: "7", flow: JSON.parse(l) })],
    ["a truncated line", (l) => l.slice(0, -20)],
    ["not JSON at all", () => "{not json"],
  ])("treats records with %s as the general path does", (_what, change) => {
    const { fast, general } = changedLineBatches(decoder(), GENERAL, base, base.slice(0, 60).map(change));
    expect(fast).toEqual(general);
  });

  it("reads start times and counts that differ from line to line", () => {
    const lines = base.flatMap((l, i) => [
      withMember(l, "startTime", `"${1795132800 + i * 15}"`),
      withMember(l, "numConnectionsStarted", `"${i % 9}"`),
    ]);
    const { batch, repeats } = fastBatch(lines, decoder());
    expect(batch).toEqual(batchOf(lines, GENERAL));
    expect(repeats).toBeGreaterThan(lines.length / 2);
  });

  it("reads the real capture as the general path does", (ctx) => {
    const files = sharedFiles(SHARED_CALICO, ".jsonl").filter((f) => f.startsWith("goldmane"));
    if (files.length === 0) ctx.skip();
    for (const f of files) {
      const lines = readFileSync(join(SHARED_CALICO, f), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "");
      const twice = [...lines, ...lines];
      const { batch, repeats } = fastBatch(twice, decoder());
      expect(batch).toEqual(batchOf(twice, GENERAL));
      expect(batch.flows).toBeGreaterThan(0);
      expect(repeats).toBeGreaterThanOrEqual(lines.length);
    }
  });
});
