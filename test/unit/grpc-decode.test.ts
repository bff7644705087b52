import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, fromJson, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DROP_REASON_NAMES, LOST_EVENT_SOURCE_NAMES, NODE_STATE_NAMES } from "../../src/collect/hubble/enum-names.js";
import { ChunkWriter, parseGrpcChunk, peekResponse, responseKey } from "../../src/collect/hubble/grpc-chunk.js";
import { EndpointMemo, responseToRecord } from "../../src/collect/hubble/grpc-flow.js";
import { EndpointCache, hubbleFormat, hubbleRecordFromJson } from "../../src/collect/hubble/json-flow.js";
import { eventFromResponse } from "../../src/collect/hubble/replay-events.js";
import { WireReader } from "../../src/collect/hubble/wire.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import { DropReason, EndpointSchema, LostEventSource } from "../../src/gen/flow/flow_pb.js";
import { GetFlowsResponseSchema } from "../../src/gen/observer/observer_pb.js";
import { NodeState } from "../../src/gen/relay/relay_pb.js";
import { defaultDecodeWorkers } from "../../src/ingest/hubble-relay.js";
import { SHARED_HUBBLE } from "../helpers/paths.js";
import { describeWithShared, sharedFiles } from "../helpers/shared.js";

const FILES = sharedFiles(SHARED_HUBBLE, ".jsonl");

function encode(line: string): Buffer {
  const value = JSON.parse(line) as Record<string, unknown>;
  const envelope = value.flow ? value : { flow: value, node_name: value.node_name, time: value.time };
  const event = eventFromResponse(
    fromJson(GetFlowsResponseSchema, envelope as JsonValue, { ignoreUnknownFields: true }),
  );
  if (!event) throw new Error("no event");
  return event.bytes;
}

describeWithShared([SHARED_HUBBLE], "the selective gRPC decoder", () => {
  it.each(FILES)("maps every flow of %s exactly as the JSON file parser does", (file) => {
    const lines = readFileSync(join(SHARED_HUBBLE, file), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
    for (const line of lines) {
      expect(responseToRecord(encode(line))).toEqual(hubbleRecordFromJson(JSON.parse(line)));
    }
  });

  it.each(FILES)("aggregates %s in one chunk exactly as file ingest aggregates it", (file) => {
    const text = readFileSync(join(SHARED_HUBBLE, file), "utf8");
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const chunk = new ChunkWriter();
    for (const line of lines) chunk.add(encode(line));
    const fromGrpc = parseGrpcChunk(chunk.take(), 1);
    const fromFile = parseChunk(Buffer.from(text), 1, hubbleFormat);
    expect(fromGrpc).toEqual(fromFile);
  });

  it("reads the event time from the envelope and keys flows without uuid by content", () => {
    const line = readFileSync(join(SHARED_HUBBLE, FILES[0] as string), "utf8").split("\n")[0] as string;
    const bytes = encode(line);
    const peek = peekResponse(bytes);
    expect(peek.kind).toBe("flow");
    expect(peek.time?.seconds).toBeGreaterThan(1_500_000_000);
    expect(responseKey(bytes)).toMatch(/^sha256:/);
    expect(responseKey(Buffer.from(bytes))).toBe(responseKey(bytes));
  });

  it.each([
    { what: "a truncated message", bytes: (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)) },
    { what: "a length running past the end", bytes: () => Buffer.from([0x0a, 0x7f, 0x01]) },
    { what: "an unsupported wire type", bytes: () => Buffer.from([0x0f, 0x00]) },
  ])("reports $what as a bad record instead of throwing", ({ bytes }) => {
    const line = readFileSync(join(SHARED_HUBBLE, FILES[0] as string), "utf8").split("\n")[0] as string;
    const record = responseToRecord(bytes(encode(line)));
    expect(record.kind).toBe("bad");
  });

  /** The value-to-name pairs of a generated TypeScript enum (it maps both ways). */
  const pairs = (e: Record<string, string | number>) =>
    Object.entries(e)
      .filter(([, v]) => typeof v === "number")
      .map(([k, v]) => [v as number, k] as [number, string])
      .sort((a, b) => a[0] - b[0]);

  it.each([
    { name: "DropReason", table: [...DROP_REASON_NAMES], generated: DropReason },
    { name: "LostEventSource", table: LOST_EVENT_SOURCE_NAMES.map((n, i) => [i, n]), generated: LostEventSource },
    { name: "NodeState", table: NODE_STATE_NAMES.map((n, i) => [i, n]), generated: NodeState },
  ])("names every $name value as the generated enum does", ({ table, generated }) => {
    expect(table).toEqual(pairs(generated as unknown as Record<string, string | number>));
  });
});

describe("the gRPC endpoint memo", () => {
  const encoded = (labels: string[]) => {
    const bytes = toBinary(EndpointSchema, create(EndpointSchema, { identity: 7, namespace: "shop", labels }));
    const reader = new WireReader(Buffer.concat([Buffer.from([bytes.length]), Buffer.from(bytes)]));
    return reader;
  };

  it("tells apart endpoints of the same length and first bytes, and remembers each", () => {
    const memo = new EndpointMemo();
    const a = memo.endpoint(encoded(["k8s:app=aaaa"]));
    const b = memo.endpoint(encoded(["k8s:app=bbbb"]));
    expect(a.labels).toEqual(["k8s:app=aaaa"]);
    expect(b.labels).toEqual(["k8s:app=bbbb"]);
    expect(memo.endpoint(encoded(["k8s:app=aaaa"]))).toBe(a);
    expect(memo.endpoint(encoded(["k8s:app=bbbb"]))).toBe(b);
  });

  it("leaves the reader just past the endpoint, remembered or not", () => {
    const memo = new EndpointMemo();
    for (let i = 0; i < 2; i++) {
      const reader = encoded(["k8s:app=x"]);
      memo.endpoint(reader);
      expect(reader.pos).toBe(reader.buf.length);
    }
  });

  it("completes a remembered endpoint per IP, DNS names and Service, as the plain cache does", () => {
    const memo = new EndpointMemo();
    const plain = new EndpointCache();
    const raw = memo.endpoint(encoded(["k8s:app=cart", "k8s:io.kubernetes.pod.namespace=shop"]));
    const cases: Array<[string | undefined, unknown, unknown]> = [
      ["10.0.0.1", undefined, undefined],
      ["10.0.0.2", undefined, undefined],
      [undefined, undefined, undefined],
      ["10.0.0.1", ["cart.shop.svc.cluster.local."], undefined],
      ["10.0.0.1", ["other.example."], undefined],
      ["10.0.0.1", undefined, { namespace: "shop", name: "cart" }],
      ["10.0.0.1", undefined, { namespace: "shop", name: "cart-canary" }],
      ["10.0.0.1", ["cart.shop.svc.cluster.local."], { namespace: "shop", name: "cart" }],
      ["10.0.0.1", "not a list", undefined],
      ["not-an-ip!", undefined, undefined],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [ip, names, service] of cases) {
        expect(memo.get(raw, ip, names, service)).toEqual(plain.get(raw, ip, names, service));
      }
    }
    // Remembered: the second time is the same object.
    expect(memo.get(raw, "10.0.0.1", undefined, { namespace: "shop", name: "cart" })).toBe(
      memo.get(raw, "10.0.0.1", undefined, { namespace: "shop", name: "cart" }),
    );
  });
});

describe("collect hubble's decode workers by default", () => {
  it("decodes on the main thread below 4 cores, else one worker per core but one, at most 4", () => {
    expect([1, 2, 3, 4, 5, 8, 64].map(defaultDecodeWorkers)).toEqual([0, 0, 0, 3, 4, 4, 4]);
  });
});
