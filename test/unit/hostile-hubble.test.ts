import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChunkWriter, parseGrpcChunk } from "../../src/collect/hubble/grpc-chunk.js";
import { HubbleDecoder, hubbleFormat, hubbleRecordFromJson } from "../../src/collect/hubble/json-flow.js";
import { eventFromResponse } from "../../src/collect/hubble/replay-events.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import type { RecordDecoder } from "../../src/collect/record.js";
import { GetFlowsResponseSchema } from "../../src/gen/observer/observer_pb.js";
import type { Batch } from "../../src/model/batch.js";
import { simulatedLines } from "../helpers/simulated.js";

/**
 * A corpus of hostile values in Hubble lines. Each one is read after lines that taught the
 * decoder's endpoint cache the same line with a good value; the cached and the general
 * path must give the same batch, and the line is either a bad line with its reason, or a flow kept
 * without its invalid labels (reported on that line).
 */

// biome-ignore lint/suspicious/noExplicitAny: hostile records are built by changing any field
type Json = Record<string, any>;

const base = JSON.stringify(
  JSON.parse(
    simulatedLines("hubble", 3000).find(
      (l) => l.includes('"TCP":{"source_port"') && l.includes('"flags":{') && l.includes('"destination_service"'),
    ) as string,
  ),
);

function variant(change: (envelope: Json, flow: Json) => void): string {
  const envelope = JSON.parse(base) as Json;
  change(envelope, envelope.flow);
  return JSON.stringify(envelope);
}

const flowWith = (key: string, value: unknown) => variant((_e, f) => (f[key] = value));
const tcpWith = (key: string, value: unknown) => variant((_e, f) => (f.l4.TCP[key] = value));
const ipWith = (key: string, value: unknown) => variant((_e, f) => (f.IP[key] = value));
const sourceWith = (key: string, value: unknown) => variant((_e, f) => (f.source[key] = value));
const withLabel = (label: unknown) => variant((_e, f) => f.source.labels.push(label));
const icmp = (type: unknown) => variant((_e, f) => (f.l4 = { ICMPv4: { type } }));
const lost = (count: unknown, node: unknown = "kind-worker") =>
  JSON.stringify({ lost_events: { source: "PERF_EVENT_RING_BUFFER", num_events_lost: count }, node_name: node });

/** [what, line, reason of the bad line]: a flow that must not be stored. */
const BAD: Array<[string, string, RegExp]> = [
  ["a fractional port", tcpWith("source_port", 1.5), /source_port 1.5 is not a port/],
  ["a negative port", tcpWith("source_port", -1), /source_port -1 is not a port/],
  ["a port with a shell command", tcpWith("destination_port", "8080; rm -rf /"), /destination_port "8080; rm/],
  ["a port above 65535", tcpWith("destination_port", 70000), /not a port/],
  ["a port as true", tcpWith("destination_port", true), /not a port/],
  ["a port as null", tcpWith("destination_port", null), /not a port/],
  ["a port in exponent notation above range", tcpWith("destination_port", 1e6), /not a port/],
  ["an IPv4 address out of range", ipWith("source", "999.1.1.1"), /IP.source "999.1.1.1" is not an IP/],
  ["an IP with SQL", ipWith("destination", "10.0.0.1'; DROP TABLE edges"), /IP.destination .* is not an IP/],
  ["an IP as a number", ipWith("source", 167772161), /IP.source 167772161 is not an IP/],
  ["an IP with a zone", ipWith("destination", "fe80::1%eth0"), /not an IP/],
  ["IP as a string", flowWith("IP", "10.0.0.1"), /IP "10.0.0.1" is not an object/],
  ["a null source", flowWith("source", null), /source null is not an endpoint object/],
  ["a null destination", flowWith("destination", null), /destination null is not an endpoint object/],
  ["a source that is a string", flowWith("source", "frontend"), /source "frontend" is not an endpoint/],
  [
    "no source and no IP",
    variant((_e, f) => {
      delete f.source;
      delete f.IP;
    }),
    /no source/,
  ],
  ["verdict 99", flowWith("verdict", 99), /verdict 99 is not a Hubble verdict/],
  ["verdict NOPE", flowWith("verdict", "NOPE"), /verdict "NOPE" is not a Hubble verdict/],
  ["verdict -1", flowWith("verdict", -1), /verdict -1/],
  ["verdict in lower case", flowWith("verdict", "forwarded"), /verdict "forwarded"/],
  ["verdict as an object", flowWith("verdict", { x: 1 }), /verdict an object/],
  ["labels as a string", sourceWith("labels", "k8s:app=frontend"), /labels "k8s:app=frontend" is not a list/],
  ["labels as an object", sourceWith("labels", { app: "x" }), /labels an object is not a list/],
  ["a namespace with a path", sourceWith("namespace", "../../etc"), /namespace/],
  ["a pod name with a YAML break", sourceWith("pod_name", "x\nkind: Secret"), /pod name/],
  ["a workload name with a slash", sourceWith("workloads", [{ name: "a/b", kind: "Deployment" }]), /workload name/],
  ["a traffic direction SIDEWAYS", flowWith("traffic_direction", "SIDEWAYS"), /traffic_direction "SIDEWAYS"/],
  ["a traffic direction 7", flowWith("traffic_direction", 7), /traffic_direction 7/],
  ["a time that is not a time", flowWith("time", "yesterday"), /time "yesterday" is not a time/],
  ["a time as a number", flowWith("time", 1700000000), /time 1700000000 is not a time/],
  ["a time as null", flowWith("time", null), /time null is not a time/],
  ["l4 as a string", flowWith("l4", "TCP"), /l4 "TCP" is not an object/],
  ["TCP flags that are not booleans", tcpWith("flags", { SYN: "yes" }), /flags an object is not an object of booleans/],
  ["an ICMP type above 255", icmp(300), /ICMPv4.type 300 is not an ICMP type/],
  ["a negative ICMP type", icmp(-1), /ICMPv4.type -1/],
  ["a node name with HTML", flowWith("node_name", "<img src=x onerror=alert(1)>"), /node_name "<img/],
  ["a node name as a number", flowWith("node_name", 42), /node_name 42 is not a node name/],
  [
    "an envelope node name with Markdown",
    variant((e) => (e.node_name = "[link](https://evil.example)")),
    /node_name "\[link\]/,
  ],
  ["a drop reason with HTML", flowWith("drop_reason_desc", "<img src=x onerror=alert(1)>"), /drop_reason_desc/],
  ["a drop reason with Markdown", flowWith("drop_reason_desc", "[link](https://evil)"), /drop_reason_desc/],
  ["a uuid as a number", flowWith("uuid", 42), /uuid 42 is not a string/],
  ["is_reply as a string", flowWith("is_reply", "yes"), /is_reply "yes" is not true or false/],
  ["lost events counted as many", lost("many"), /num_events_lost "many" is not a count/],
  ["lost events counted -3", lost(-3), /num_events_lost -3 is not a count/],
  ["lost events from a node with HTML", lost(5, "<img src=x>"), /node_name "<img src=x>"/],
  ["8,000 nested arrays", `${"[".repeat(8000)}${"]".repeat(8000)}`, /nests JSON more than 64 levels/],
  ["2,000 nested arrays", `${"[".repeat(2000)}${"]".repeat(2000)}`, /nests JSON more than 64 levels/],
  ["4,000 nested objects", `${'{"a":'.repeat(4000)}1${"}".repeat(4000)}`, /nests JSON more than 64 levels/],
  [
    "a flow deep inside a field",
    variant((_e, f) => (f.x = JSON.parse(`${"[".repeat(100)}${"]".repeat(100)}`))),
    /nests JSON/,
  ],
  ["an array of arrays", `[[${base}]]`, /an array inside an array is not a flow record/],
];

/** [what, line, reason reported]: a flow kept without the labels that are not label syntax. */
const KEPT: Array<[string, string, RegExp]> = [
  ["a label value with a quote", withLabel("k8s:team=a'b"), /source: label "k8s:team=a'b" not valid/],
  ["a label key with a space", withLabel("k8s:bad key=x"), /source: label "k8s:bad key=x"/],
  ["a label value with a YAML break", withLabel("k8s:team=a\nkind: Secret"), /not valid Kubernetes label syntax/],
  ["a label that is a number", withLabel(42), /source: label 42 not valid/],
  [
    "a label changed in place (same identity, same label count)",
    variant((_e, f) => (f.source.labels[1] = "k8s:app=front end")),
    /source: label "k8s:app=front end" not valid/,
  ],
  ["a label that is null", withLabel(null), /source: label null/],
  ["a service account with HTML", withLabel("k8s:io.cilium.k8s.policy.serviceaccount=<b>x</b>"), /serviceaccount/],
  ["a namespace label with a bad key", withLabel("k8s:io.cilium.k8s.namespace.labels.a b=c"), /namespace.labels.a b/],
];

const GENERAL: RecordDecoder = { decode: (value) => hubbleRecordFromJson(value) };

function read(lines: string[], decoder: RecordDecoder): Batch {
  return parseChunk(Buffer.from(`${lines.join("\n")}\n`), 1, hubbleFormat, decoder);
}

describe("hostile values in Hubble lines", () => {
  it("has a corpus of at least 39 kinds", () => {
    expect(BAD.length + KEPT.length).toBeGreaterThanOrEqual(39);
  });

  it.each(BAD)("%s is a bad line with its reason, by every path", (_what, line, reason) => {
    const lines = [base, base, line, base];
    const general = read(lines, GENERAL);
    expect(read(lines, new HubbleDecoder())).toEqual(general);
    expect(general.badLines).toHaveLength(1);
    expect(general.badLines[0]?.line).toBe(3);
    expect(general.badLines[0]?.reason).toMatch(reason);
    expect(general.flows).toBe(3);
  });

  it.each(KEPT)("%s is left out of a kept flow, reported on its line, by every path", (_what, line, reason) => {
    const lines = [base, line, base, line, line];
    const general = read(lines, GENERAL);
    expect(read(lines, new HubbleDecoder())).toEqual(general);
    expect(general.flows).toBe(5);
    expect(general.bad).toBe(0);
    expect(general.badLines.map((b) => b.line)).toEqual([2, 4, 5]);
    expect(general.badLines[0]?.reason).toMatch(reason);
    expect(general.badLines[0]?.reason).toMatch(/the flow is kept/);
  });

  it("accepts what protojson allows: ports as strings of digits, enums as numbers, absent fields", () => {
    const lines = [
      base,
      tcpWith("destination_port", "5050"),
      flowWith("verdict", 1),
      flowWith("traffic_direction", 2),
      variant((_e, f) => delete f.verdict),
      flowWith("drop_reason_desc", 133),
      flowWith("drop_reason_desc", "POLICY_DENIED"),
    ];
    const general = read(lines, GENERAL);
    expect(read(lines, new HubbleDecoder())).toEqual(general);
    expect(general.badLines).toEqual([]);
    expect(general.flows).toBe(lines.length);
  });
});

/** A Hubble JSON line as Relay sends it: a `GetFlowsResponse` message. */
function encode(line: string): Buffer {
  const envelope = JSON.parse(line) as JsonValue;
  const event = eventFromResponse(fromJson(GetFlowsResponseSchema, envelope, { ignoreUnknownFields: true }));
  if (!event) throw new Error("no event");
  return event.bytes;
}

describe("hostile values the gRPC wire can carry", () => {
  const carried = [...BAD, ...KEPT].filter(([what]) =>
    [
      "an IPv4 address out of range",
      "an IP with SQL",
      "verdict 99",
      "a traffic direction 7",
      "a namespace with a path",
      "a pod name with a YAML break",
      "a workload name with a slash",
      "a node name with HTML",
      "an envelope node name with Markdown",
      "lost events from a node with HTML",
      "a label value with a quote",
      "a label key with a space",
      "a label value with a YAML break",
      "a service account with HTML",
      "a namespace label with a bad key",
      "a label changed in place (same identity, same label count)",
    ].includes(what),
  );

  it("carries 16 of the corpus's values", () => {
    expect(carried).toHaveLength(16);
  });

  it.each(carried)("%s: the gRPC decoder reads it as the file reader does", (_what, line) => {
    const lines = [base, line, base];
    const chunk = new ChunkWriter();
    for (const l of lines) chunk.add(encode(l));
    const fromFile = read(lines, new HubbleDecoder());
    expect(parseGrpcChunk(chunk.take(), 1)).toEqual(fromFile);
    expect(fromFile.badLines.map((b) => b.line)).toEqual([2]);
  });
});
