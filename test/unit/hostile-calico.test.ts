import { describe, expect, it } from "vitest";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import { CalicoFlowLogDecoder } from "../../src/collect/calico/flow-log-decoder.js";
import { calicoFlowLogFormat } from "../../src/collect/calico/flow-log-format.js";
import { goldmaneJsonFormat } from "../../src/collect/goldmane/json-format.js";
import { whiskerFormat } from "../../src/collect/goldmane/whisker-format.js";
import { parseLine } from "../../src/collect/parse-chunk.js";
import { decoderFor, type RecordDecoder } from "../../src/collect/record.js";
import type { Batch } from "../../src/model/batch.js";
import { simulatedLines } from "../helpers/simulated.js";

/**
 * Hostile values in Calico flow logs, Goldmane and Whisker records. Flow-log lines go through the
 * fast path (templates learned from the same line with good values) and the general path, which
 * must agree line by line.
 */

// biome-ignore lint/suspicious/noExplicitAny: hostile records are built by changing any field
type Json = Record<string, any>;

function batchOf(lines: readonly string[], decoder: RecordDecoder): Batch {
  const builder = new BatchBuilder();
  lines.forEach((line, i) => {
    parseLine(line, i + 1, decoder, builder);
  });
  return builder.build();
}

const GENERAL: RecordDecoder = { decode: (value) => calicoFlowLogFormat.toRecord(value) };
const base = simulatedLines("calico-level0", 120).find((l) => l.includes('"proto":"tcp"')) as string;

function flowLog(change: (r: Json) => void): string {
  const record = JSON.parse(base) as Json;
  change(record);
  return JSON.stringify(record);
}
const set = (key: string, value: unknown) => flowLog((r) => (r[key] = value));
const without = (key: string) => flowLog((r) => delete r[key]);

const FLOW_LOG_BAD: Array<[string, string, RegExp]> = [
  ["no source namespace", without("source_namespace"), /source_namespace is missing/],
  ["no dest namespace", without("dest_namespace"), /dest_namespace is missing/],
  ["no dest_port", without("dest_port"), /the TCP record has no `dest_port`/],
  ["no action", without("action"), /the record has no `action`/],
  ["action maybe", set("action", "maybe"), /action "maybe" is not allow, deny or pass/],
  ["num_flows -3", set("num_flows", -3), /num_flows -3 is not a count/],
  ["num_flows many", set("num_flows", "many"), /num_flows "many" is not a count/],
  ["num_flows_started 1.5", set("num_flows_started", 1.5), /num_flows_started 1.5 is not a count/],
  ["dest_port 1.5", set("dest_port", 1.5), /dest_port 1.5 is not a port/],
  ["dest_port -1", set("dest_port", -1), /dest_port -1 is not a port/],
  ["dest_port with a command", set("dest_port", "8080; rm -rf /"), /dest_port "8080; rm -rf \/" is not a port/],
  ["source_port 70000", set("source_port", 70000), /source_port 70000 is not a port/],
  ["source_ip 999.1.1.1", set("source_ip", "999.1.1.1"), /source_ip "999.1.1.1" is not an IP/],
  ["no proto", without("proto"), /the record has no `proto`/],
  ["proto as an object", set("proto", { x: 1 }), /proto an object is not a protocol/],
  ["proto 300", set("proto", 300), /proto 300 is not a protocol/],
  ["reporter sideways", set("reporter", "sideways"), /reporter "sideways" is not src or dst/],
  ["host with HTML", set("host", "<img src=x>"), /host "<img src=x>" is not a node name/],
  ["a namespace with SQL", set("source_namespace", "x'); DROP TABLE edges;--"), /source_namespace/],
  ["no time at all", flowLog((r) => delete r.start_time && delete r.end_time), /no valid `start_time`/],
  ["a start time that is not one", set("start_time", "soon"), /start_time "soon" is not a time/],
];

const FLOW_LOG_KEPT: Array<[string, string, RegExp]> = [
  [
    "a label value with a space",
    flowLog((r) => r.source_labels.labels.push("team=a b")),
    /source: label "team=a b" not valid/,
  ],
  ["a label that is a number", flowLog((r) => r.dest_labels.labels.push(7)), /destination: label 7 not valid/],
  ["labels as a number", set("source_labels", 5), /source: label 5 not valid/],
];

describe("hostile values in Calico flow logs", () => {
  it.each(FLOW_LOG_BAD)("%s is a bad line with its reason, by both paths", (_what, line, reason) => {
    const lines = [base, base, line, base];
    const general = batchOf(lines, GENERAL);
    expect(batchOf(lines, new CalicoFlowLogDecoder())).toEqual(general);
    expect(general.bad).toBe(1);
    expect(general.badLines[0]?.line).toBe(3);
    expect(general.badLines[0]?.reason).toMatch(reason);
  });

  it.each(FLOW_LOG_KEPT)(
    "%s is left out of a kept flow, reported on its line, by both paths",
    (_what, line, reason) => {
      const lines = [base, line, base, line];
      const general = batchOf(lines, GENERAL);
      expect(batchOf(lines, new CalicoFlowLogDecoder())).toEqual(general);
      expect(general.bad).toBe(0);
      expect(general.badLines.map((b) => b.line)).toEqual([2, 4]);
      expect(general.badLines[0]?.reason).toMatch(reason);
    },
  );

  it("keeps a dest_port aggregated away (null, level 3), and takes --default-time for a record without one", () => {
    const lines = [set("dest_port", null), flowLog((r) => delete r.start_time && delete r.end_time)];
    expect(batchOf(lines, GENERAL).bad).toBe(1);
    const withDefault = decoderFor(calicoFlowLogFormat, { defaultTime: Date.parse("2026-01-01T00:00:00Z") });
    const batch = batchOf(lines, withDefault);
    expect(batch.bad).toBe(0);
    expect(batchOf(lines, new CalicoFlowLogDecoder({ defaultTime: Date.parse("2026-01-01T00:00:00Z") }))).toEqual(
      batch,
    );
  });
});

const goldmane = simulatedLines("goldmane", 120)[0] as string;
function goldmaneWith(change: (f: Json) => void): string {
  const flow = JSON.parse(goldmane) as Json;
  change(flow);
  return JSON.stringify(flow);
}

const whisker = JSON.stringify({
  start_time: "2026-01-01T00:00:00Z",
  end_time: "2026-01-01T00:00:15Z",
  action: "Allow",
  source_name: "frontend-*",
  source_namespace: "shop",
  source_labels: "app=frontend",
  dest_name: "cart-*",
  dest_namespace: "shop",
  dest_labels: "app=cart",
  protocol: "tcp",
  dest_port: 7070,
  reporter: "Src",
  policies: { enforced: [], pending: [] },
});
function whiskerWith(change: (f: Json) => void): string {
  const item = JSON.parse(whisker) as Json;
  change(item);
  return JSON.stringify(item);
}

const OTHER_BAD: Array<[string, RecordDecoder, string, RegExp]> = [
  ["Goldmane: no action", decoderFor(goldmaneJsonFormat), goldmaneWith((f) => delete f.Key.action), /no `action`/],
  ["Goldmane: action NOPE", decoderFor(goldmaneJsonFormat), goldmaneWith((f) => (f.Key.action = "NOPE")), /action/],
  [
    "Goldmane: destPort many",
    decoderFor(goldmaneJsonFormat),
    goldmaneWith((f) => (f.Key.destPort = "many")),
    /destPort "many" is not a port/,
  ],
  [
    "Goldmane: destPort 70000",
    decoderFor(goldmaneJsonFormat),
    goldmaneWith((f) => (f.Key.destPort = "70000")),
    /destPort "70000" is not a port/,
  ],
  [
    "Goldmane: no source namespace",
    decoderFor(goldmaneJsonFormat),
    goldmaneWith((f) => delete f.Key.sourceNamespace),
    /source_namespace is missing/,
  ],
  [
    "Goldmane: negative connections",
    decoderFor(goldmaneJsonFormat),
    goldmaneWith((f) => (f.numConnectionsStarted = "-3")),
    /numConnectionsStarted "-3" is not a count/,
  ],
  [
    "Goldmane: reporter sideways",
    decoderFor(goldmaneJsonFormat),
    goldmaneWith((f) => (f.Key.reporter = "Sideways")),
    /reporter "Sideways"/,
  ],
  ["Whisker: no action", decoderFor(whiskerFormat), whiskerWith((f) => delete f.action), /no `action`/],
  [
    "Whisker: dest_port 1.5",
    decoderFor(whiskerFormat),
    whiskerWith((f) => (f.dest_port = 1.5)),
    /dest_port 1.5 is not a port/,
  ],
  [
    "Whisker: a time that is not one",
    decoderFor(whiskerFormat),
    whiskerWith((f) => (f.start_time = "later")),
    /no valid `start_time`/,
  ],
  [
    "Whisker: protocol as a list",
    decoderFor(whiskerFormat),
    whiskerWith((f) => (f.protocol = ["tcp"])),
    /protocol a list is not a protocol/,
  ],
];

describe("hostile values in Goldmane and Whisker records", () => {
  it("reads the good records", () => {
    expect(batchOf([goldmane], decoderFor(goldmaneJsonFormat)).bad).toBe(0);
    expect(batchOf([whisker], decoderFor(whiskerFormat)).bad).toBe(0);
  });

  it.each(OTHER_BAD)("%s is a bad line with its reason", (_what, decoder, line, reason) => {
    const batch = batchOf([line], decoder);
    expect(batch.bad).toBe(1);
    expect(batch.badLines[0]?.reason).toMatch(reason);
  });

  it("Whisker: a label with a space is left out of the kept flow, reported", () => {
    const batch = batchOf(
      [whiskerWith((f) => (f.source_labels = "app=frontend | team=a b"))],
      decoderFor(whiskerFormat),
    );
    expect(batch.bad).toBe(0);
    expect(batch.flows).toBe(1);
    expect(batch.badLines[0]?.reason).toMatch(/source: label "team=a b" not valid/);
  });

  it("counts a corpus of at least 39 kinds across the sources", () => {
    expect(FLOW_LOG_BAD.length + FLOW_LOG_KEPT.length + OTHER_BAD.length).toBeGreaterThanOrEqual(35);
  });
});
