import { describe, expect, it } from "vitest";
import { formatByName } from "../../src/collect/formats.js";
import { goldmaneJsonFormat, goldmaneRecordFromJson } from "../../src/collect/goldmane/json-format.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import { decoderFor, type RecordDecoder } from "../../src/collect/record.js";
import type { Flow } from "../../src/model/flow.js";

/** Endpoints kept by the Goldmane and Calico decoders: shared when the fields are the same, never otherwise. */

const record = (change: (key: Record<string, unknown>, flow: Record<string, unknown>) => void = () => {}) => {
  const key: Record<string, unknown> = {
    sourceName: "frontend-7d4b8c9f5-*",
    sourceNamespace: "shop",
    sourceType: "WorkloadEndpoint",
    destName: "cart-5d8f9c7b6d-*",
    destNamespace: "shop",
    destType: "WorkloadEndpoint",
    destPort: "7070",
    destServiceName: "cart",
    destServiceNamespace: "shop",
    proto: "tcp",
    reporter: "Src",
    action: "Allow",
  };
  const flow: Record<string, unknown> = {
    Key: key,
    startTime: "1795132800",
    endTime: "1795132815",
    sourceLabels: ["app=frontend"],
    destLabels: ["app=cart"],
    numConnectionsStarted: "1",
  };
  change(key, flow);
  return flow;
};

function decoded(decoder: RecordDecoder, value: unknown): Flow {
  const r = decoder.decode(value);
  if (r.kind !== "flow") throw new Error(`not a flow: ${JSON.stringify(r)}`);
  return r.flow;
}

describe("Goldmane endpoints kept by the decoder", () => {
  it("are one object for the same fields, and equal what a fresh conversion gives", () => {
    const decoder = decoderFor(goldmaneJsonFormat);
    const a = decoded(decoder, record());
    const b = decoded(decoder, record());
    expect(b.source).toBe(a.source);
    expect(b.destination).toBe(a.destination);
    expect(goldmaneRecordFromJson(record())).toEqual({ kind: "flow", flow: b });
  });

  it.each([
    ["another label", (_k: Record<string, unknown>, f: Record<string, unknown>) => (f.destLabels = ["app=cart2"])],
    ["another Service", (k: Record<string, unknown>) => (k.destServiceName = "basket")],
    ["no Service", (k: Record<string, unknown>) => delete k.destServiceName],
    ["another namespace", (k: Record<string, unknown>) => (k.destNamespace = "shop2")],
    [
      "a label with a NUL",
      (_k: Record<string, unknown>, f: Record<string, unknown>) => (f.destLabels = ["app=ca\u0000rt"]),
    ],
  ])("are converted afresh for %s", (_what, change) => {
    const decoder = decoderFor(goldmaneJsonFormat);
    const first = decoded(decoder, record());
    const changed = decoder.decode(record(change));
    expect(changed).toEqual(goldmaneRecordFromJson(record(change)));
    if (changed.kind === "flow") expect(changed.flow.destination).not.toBe(first.destination);
  });

  it("give every line the general path's batch, bad labels reported on every line", () => {
    const lines = [
      record(),
      record((_k, f) => (f.sourceLabels = ["app=frontend", "bad key=x"])),
      record((_k, f) => (f.sourceLabels = ["app=frontend", "bad key=x"])),
      record((_k, f) => (f.sourceLabels = [1, { a: 1 }])),
      record((_k, f) => (f.sourceLabels = "app=frontend")),
      record((k) => (k.sourceType = 7)),
      record(),
    ].map((r) => JSON.stringify(r));
    const text = Buffer.from(`${lines.join("\n")}\n`);
    const general: RecordDecoder = { decode: (value) => goldmaneJsonFormat.toRecord(value) };
    const batch = parseChunk(text, 1, goldmaneJsonFormat, decoderFor(goldmaneJsonFormat));
    expect(batch).toEqual(parseChunk(text, 1, goldmaneJsonFormat, general));
    expect(batch.badLines.map((b) => b.line)).toEqual(expect.arrayContaining([2, 3]));
  });
});

describe("Calico flow-log endpoints kept by the decoder for parsed records", () => {
  const flowLog = (change: (r: Record<string, unknown>) => void = () => {}) => {
    const r: Record<string, unknown> = {
      start_time: 1795132800,
      end_time: 1795133100,
      source_ip: "10.0.0.1",
      source_name: "frontend-7d4b8c9f5-xk2mh",
      source_name_aggr: "frontend-7d4b8c9f5-*",
      source_namespace: "shop",
      source_port: 40000,
      source_type: "wep",
      source_labels: { labels: ["app=frontend"] },
      dest_ip: "10.0.0.2",
      dest_name: "cart-5d8f9c7b6d-q2w4x",
      dest_name_aggr: "cart-5d8f9c7b6d-*",
      dest_namespace: "shop",
      dest_port: 7070,
      dest_type: "wep",
      dest_labels: { labels: ["app=cart"] },
      dest_service_name: "cart",
      dest_service_namespace: "shop",
      proto: "tcp",
      action: "allow",
      reporter: "src",
      policies: { all_policies: ["0|__PROFILE__|__PROFILE__.kns.shop|allow|0"] },
      num_flows: 1,
      num_flows_started: 1,
    };
    change(r);
    return r;
  };
  const format = formatByName("calico");

  it("are one object for the same fields, and equal what a fresh conversion gives", () => {
    const decoder = decoderFor(format);
    const a = decoded(decoder, flowLog());
    const b = decoded(
      decoder,
      flowLog((r) => (r.source_port = 40001)),
    );
    expect(b.source).toBe(a.source);
    expect(b.destination).toBe(a.destination);
    expect(format.toRecord(flowLog())).toEqual({ kind: "flow", flow: a });
  });

  it.each([
    ["another pod", (r: Record<string, unknown>) => (r.dest_name = "cart-5d8f9c7b6d-zzzzz")],
    ["another label", (r: Record<string, unknown>) => (r.dest_labels = { labels: ["app=cart2"] })],
    ["a numeric namespace", (r: Record<string, unknown>) => (r.dest_namespace = 0)],
    ["labels as a map", (r: Record<string, unknown>) => (r.dest_labels = { app: "cart" })],
    ["no Service", (r: Record<string, unknown>) => delete r.dest_service_name],
  ])("are converted afresh for %s", (_what, change) => {
    const decoder = decoderFor(format);
    const first = decoded(decoder, flowLog());
    const changed = decoder.decode(flowLog(change));
    expect(changed).toEqual(format.toRecord(flowLog(change)));
    if (changed.kind === "flow") expect(changed.flow.destination).not.toBe(first.destination);
  });
});
