import { describe, expect, it } from "vitest";
import { CalicoFlowLogDecoder } from "../../src/collect/calico/flow-log-decoder.js";
import { calicoFlowLogFormat } from "../../src/collect/calico/flow-log-format.js";
import type { RecordDecoder } from "../../src/collect/record.js";
import { batchOf, changedLineBatches, fastBatch as fastBatchOf, withMember } from "../helpers/fast-path.js";
import { simulatedLines } from "../helpers/simulated.js";

function fastBatch(lines: readonly string[], decoder = new CalicoFlowLogDecoder()) {
  return fastBatchOf(lines, decoder);
}

/** The general path only: JSON.parse, then the record converter. */
const GENERAL: RecordDecoder = { decode: (value) => calicoFlowLogFormat.toRecord(value) };

describe("the Calico flow-log fast path", () => {
  it.each(["calico", "calico-level0", "calico-level1", "calico-level3"])(
    "aggregates every %s line exactly as the general path does, mostly without parsing",
    (format) => {
      // Long enough for the gate to see the repeats: a source starts with a short window of learning.
      const lines = simulatedLines(format, 2400);
      expect(lines.length).toBeGreaterThan(100);
      const { batch, repeats } = fastBatch(lines);
      expect(batch).toEqual(batchOf(lines, GENERAL));
      expect(repeats).toBeGreaterThan(lines.length / 4);
    },
  );

  const base = simulatedLines("calico-level0", 120);
  const first = base[0] as string;

  it.each<[string, (line: string) => string]>([
    ["spaces after colons (documentation samples)", (l) => l.replaceAll('":', '": ')],
    ["another field order", (l) => JSON.stringify({ proto: "udp", ...JSON.parse(l) })],
    ["a field the templates do not have", (l) => l.replace(',"source_labels":', ',"x":1,"source_labels":')],
    ["a truncated line", (l) => l.slice(0, -20)],
    ["a line cut right after a counter", (l) => l.slice(0, l.lastIndexOf(":") + 2)],
    ["a counter with a leading zero", (l) => l.replace('"packets_in":', '"packets_in":0')],
    ["a negative counter", (l) => withMember(l, "packets_in", "-3")],
    ["a fractional connection count", (l) => withMember(l, "num_flows", "2.5")],
    ["a count in exponent form", (l) => withMember(l, "num_flows", "2e3")],
    ["a huge count", (l) => withMember(l, "num_flows", "12345678901234567890")],
    ["a source port out of range", (l) => withMember(l, "source_port", "70000")],
    ["a destination port that differs", (l) => withMember(l, "dest_port", "8081")],
    ["a numeric protocol", (l) => withMember(l, "proto", "17")],
    ["a start time as a string", (l) => withMember(l, "start_time", '"2026-11-20T00:00:00Z"')],
    ["integers as strings", (l) => withMember(withMember(l, "num_flows", '"7"'), "start_time", '"1795132800"')],
    ["a source port as a string", (l) => withMember(l, "source_port", '"70000"')],
    ["a repeated key (the last one counts)", (l) => l.replace(/}$/, ',"num_flows":40}')],
    ["a repeated identity key", (l) => l.replace(/}$/, ',"dest_port":9}')],
    ["an escaped quote in a label", (l) => l.replace('"app=', '"note=say \\"hi\\"","app=')],
    ["key text inside a string value", (l) => withMember(l, "process_name", '"\\"num_flows\\":99,\\"x\\":"')],
    ["unicode in a label value", (l) => l.replace('"app=', '"team=zürich-ünïcode-✓","app=')],
    ["unicode escapes", (l) => l.replace('"app=', '"team=\\u00fc","app=')],
    ["an envelope key", (l) => l.replace(/}$/, ',"message":"x"}')],
    ["trailing spaces", (l) => `${l}   `],
    ["a bad namespace", (l) => withMember(l, "source_namespace", '"Bad!"')],
    ["not JSON at all", () => "{not json"],
  ])("treats lines with %s as the general path does", (_what, change) => {
    const { fast, general } = changedLineBatches(
      new CalicoFlowLogDecoder(),
      GENERAL,
      base,
      base.slice(0, 50).map(change),
    );
    expect(fast).toEqual(general);
  });

  it("stays exact when lines never repeat and learning pauses", () => {
    const unique = Array.from({ length: 9000 }, (_, i) => withMember(first, "dest_port", String(1000 + i)));
    const lines = [...unique, ...base];
    expect(fastBatch(lines).batch).toEqual(batchOf(lines, GENERAL));
  });

  it("reads members whose values differ from line to line but are only digits (a cluster, a count as a string)", () => {
    const lines = base.flatMap((l, i) => [
      l.replace(/}$/, `,"cluster":"${100 + (i % 7)}"}`),
      withMember(l, "num_flows", `"${i % 5}"`),
      withMember(l, "start_time", `"${1795132800 + i}"`),
    ]);
    const again = [...lines, ...lines, ...lines, ...lines];
    const { batch, repeats } = fastBatch(again);
    expect(batch).toEqual(batchOf(again, GENERAL));
    expect(repeats).toBeGreaterThan(lines.length / 8);
  });

  it("gives bad lines the general path's line numbers and reasons", () => {
    const lines = [first, first.slice(0, -5), withMember(first, "source_namespace", '"Bad!"'), first];
    const { batch } = fastBatch(lines);
    expect(batch.badLines).toEqual(batchOf(lines, GENERAL).badLines);
    expect(batch.badLines.map((b) => b.line)).toEqual([2, 3]);
  });
});
