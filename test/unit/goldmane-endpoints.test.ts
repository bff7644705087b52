import { describe, expect, it } from "vitest";
import { goldmaneJsonFormat, goldmaneRecordFromJson } from "../../src/collect/goldmane/json-format.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import { decoderFor, type RecordDecoder } from "../../src/collect/record.js";
import type { Flow } from "../../src/model/flow.js";

/** The kept endpoints of the Goldmane decoder: shared when the fields are the same, never otherwise. */

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
