import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { calicoRecordFromJson } from "../../src/collect/calico/flow-log.js";
import { ChunkWriter, parseGrpcChunk } from "../../src/collect/hubble/grpc-chunk.js";
import { hubbleFormat, hubbleRecordFromJson } from "../../src/collect/hubble/json-flow.js";
import { eventFromResponse } from "../../src/collect/hubble/replay-events.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import { GetFlowsResponseSchema } from "../../src/gen/observer/observer_pb.js";
import { Backoff, Stop } from "../../src/ingest/live-session.js";
import { simulatedLines } from "../helpers/simulated.js";

const hubbleLine = (simulatedLines("hubble", 2)[0] as string).replaceAll(
  '"cluster_name":"default"',
  '"cluster_name":"east"',
);
const calicoLine = simulatedLines("calico", 60)[0] as string;

function grpcBytes(line: string): Buffer {
  const value = JSON.parse(line) as Record<string, unknown>;
  const event = eventFromResponse(fromJson(GetFlowsResponseSchema, value as JsonValue, { ignoreUnknownFields: true }));
  if (!event) throw new Error("no event");
  return event.bytes;
}

describe("the cluster a record names", () => {
  it("Hubble endpoints' cluster_name, the same through JSON and gRPC, keys the batch's endpoints", () => {
    const record = hubbleRecordFromJson(JSON.parse(hubbleLine));
    expect(record.kind === "flow" && record.flow.source.cluster).toBe("east");
    const chunk = new ChunkWriter();
    chunk.add(grpcBytes(hubbleLine));
    const fromGrpc = parseGrpcChunk(chunk.take(), 1);
    expect(fromGrpc).toEqual(parseChunk(Buffer.from(`${hubbleLine}\n`), 1, hubbleFormat));
    expect(new Set(fromGrpc.endpoints.map((e) => e.ref.cluster))).toEqual(new Set(["east"]));
    expect(new Set(fromGrpc.namespaces.map((n) => n.cluster))).toEqual(new Set(["east"]));
  });

  it("--cluster names every flow, whatever the records say", () => {
    const batch = parseChunk(Buffer.from(`${hubbleLine}\n`), 1, hubbleFormat, undefined, "west");
    expect(new Set(batch.endpoints.map((e) => e.ref.cluster))).toEqual(new Set(["west"]));
  });

  it("a cluster_name that is not a DNS label makes the line bad", () => {
    const record = hubbleRecordFromJson(
      JSON.parse(hubbleLine.replace('"cluster_name":"east"', '"cluster_name":"East/1"')),
    );
    expect(record).toEqual({
      kind: "bad",
      reason: 'source: cluster_name "East/1" is not a cluster name (a DNS label)',
    });
  });

  it("Calico's cluster (added by the log shipper) names the flow's cluster; a bad one is a bad line", () => {
    const value = JSON.parse(calicoLine) as Record<string, unknown>;
    const none = calicoRecordFromJson(value);
    expect(none.kind === "flow" && none.flow.cluster).toBeUndefined();
    const named = calicoRecordFromJson({ ...value, cluster: "prod-eu" });
    expect(named.kind === "flow" && named.flow.cluster).toBe("prod-eu");
    const bad = calicoRecordFromJson({ ...value, cluster: "prod eu" });
    expect(bad).toEqual({ kind: "bad", reason: 'cluster "prod eu" is not a cluster name (a DNS label)' });
  });
});

describe("the live session's stop and backoff", () => {
  it("backs off exponentially up to the limit, each delay jittered to 50-100%, and starts over after a reset", () => {
    const backoff = new Backoff(100, 1000);
    const delays = Array.from({ length: 6 }, () => backoff.next());
    const limits = [100, 200, 400, 800, 1000, 1000];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual((limits[i] as number) / 2);
      expect(d).toBeLessThanOrEqual(limits[i] as number);
    });
    expect(backoff.attempts).toBe(6);
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(100);
  });

  it("stops on the caller's signal, or when its duration is over, and says which", async () => {
    const outer = new AbortController();
    const bySignal = new Stop(outer.signal);
    expect(bySignal.signal.aborted).toBe(false);
    outer.abort();
    expect([bySignal.signal.aborted, bySignal.stoppedBy]).toEqual([true, "signal"]);
    bySignal.dispose();

    const byDuration = new Stop(undefined);
    byDuration.limit(10);
    await new Promise((r) => setTimeout(r, 30));
    expect([byDuration.signal.aborted, byDuration.stoppedBy]).toEqual([true, "duration"]);
    byDuration.dispose();

    const aborted = new AbortController();
    aborted.abort();
    expect(new Stop(aborted.signal).stoppedBy).toBe("signal");
  });
});
