import { describe, expect, it } from "vitest";
import { valueSpans } from "../../src/collect/fast/json-scan.js";
import { EndpointSplicer } from "../../src/collect/hubble/endpoint-splice.js";
import {
  HubbleDecoder,
  hubbleFormat,
  hubbleRecordFromJson,
  parseTimeSpan,
} from "../../src/collect/hubble/json-flow.js";
import { LineTemplates } from "../../src/collect/hubble/line-template.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import type { RecordDecoder, SourceRecord } from "../../src/collect/record.js";
import { capturedHubbleLines, simulatedLines, withLines } from "../helpers/simulated.js";

/** What the general path makes of a line: JSON.parse, then the Hubble rules. */
function general(line: string): SourceRecord | "invalid JSON" {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "invalid JSON";
  }
  return hubbleRecordFromJson(value);
}

/** A splicer and templates that have seen the lines once, and the decoder that taught them. */
function taught(lines: string[]) {
  const splicer = new EndpointSplicer();
  const templates = new LineTemplates(parseTimeSpan);
  const decoder = new HubbleDecoder();
  for (const line of [...lines, ...lines]) {
    const at = splicer.locate(line);
    if (!at || templates.match(line, at)) continue;
    const record = decoder.decode(JSON.parse(line));
    if (record.kind === "flow") templates.learn(line, at, record.flow);
  }
  const read = (line: string) => {
    const at = splicer.locate(line);
    return at && templates.flowOf(line, at);
  };
  return { read };
}

describe("Hubble line templates", () => {
  it.each(
    withLines([
      ["simulated", simulatedLines("hubble", 3000)],
      ["captured (../shared/data/hubble)", capturedHubbleLines()],
    ]),
  )("read most %s lines without JSON.parse, into the flow the general path makes", (_what, lines) => {
    const { read } = taught(lines);
    let read_ = 0;
    for (const line of lines) {
      const flow = read(line);
      if (!flow) continue;
      read_++;
      expect({ kind: "flow", flow }).toEqual(general(line));
    }
    expect(read_).toBeGreaterThan(lines.length * 0.8);
  });

  it("aggregates every simulated and captured line, twice, into the batch the general path makes", () => {
    // Lines without is_reply or trace_reason, where the TCP flags decide request or reply.
    const byFlags = simulatedLines("hubble", 3000)
      .filter((l) => l.includes('"flags":{'))
      .map((l, i) =>
        l
          .replace(/"trace_reason":"[A-Z]+",/, "")
          .replace(/"is_reply":(true|false),/, "")
          .replace(/"flags":\{[^}]*\}/, i % 2 ? '"flags":{"SYN":true,"ACK":true}' : '"flags":{"SYN":true}'),
      );
    const lines = [...simulatedLines("hubble", 3000), ...capturedHubbleLines(), ...byFlags];
    const text = Buffer.from(`${[...lines, ...lines].join("\n")}\n`);
    const generalOnly: RecordDecoder = { decode: (value) => hubbleRecordFromJson(value) };
    const fast = new HubbleDecoder();
    let repeats = 0;
    const decodeLine = fast.decodeLine.bind(fast);
    fast.decodeLine = (line) => {
      const record = decodeLine(line);
      if (record?.kind === "repeat") repeats++;
      return record;
    };
    expect(parseChunk(text, 1, hubbleFormat, fast)).toEqual(parseChunk(text, 1, hubbleFormat, generalOnly));
    expect(repeats).toBeGreaterThan(lines.length);
  });

  const line = simulatedLines("hubble", 3000).find(
    (l) => l.includes('"TCP":{"source_port"') && l.includes('"flags":{'),
  ) as string;
  const sub = (from: RegExp, to: string) => line.replace(from, to);

  it.each([
    ["other ports", true, sub(/"source_port":\d+/, '"source_port":61000')],
    ["other TCP flags", true, sub(/"flags":\{[^}]*\}/, '"flags":{"ACK":true,"PSH":true}')],
    ["empty TCP flags", true, sub(/"flags":\{[^}]*\}/, '"flags":{}')],
    ["a Summary with escapes", true, sub(/"Summary":"[^"]*"/, '"Summary":"say \\"hi\\" \\u00e9\\n"')],
    ["a Summary that is a number", true, sub(/"Summary":"[^"]*"/, '"Summary":42')],
    ["a Summary with an unknown escape (not JSON)", false, sub(/"Summary":"[^"]*"/, '"Summary":"bad \\q"')],
    ["a Summary with a short unicode escape (not JSON)", false, sub(/"Summary":"[^"]*"/, '"Summary":"bad \\u12"')],
    ["a Summary with a raw tab (not JSON)", false, sub(/"Summary":"[^"]*"/, '"Summary":"a\tb"')],
    ["an unterminated Summary", false, sub(/"Summary":"[^"]*"/, '"Summary":"abc')],
    ["another time", true, line.replaceAll(/"time":"[^"]*"/g, '"time":"2027-01-02T03:04:05.123456789Z"')],
    ["a port with a leading zero (not JSON)", false, sub(/"source_port":\d+/, '"source_port":061')],
    ["a port over 65535", false, sub(/"source_port":\d+/, '"source_port":70000')],
    ["a port as a string", false, sub(/"source_port":\d+/, '"source_port":"80"')],
    ["a negative port", false, sub(/"source_port":\d+/, '"source_port":-1')],
    ["a fractional port", false, sub(/"source_port":\d+/, '"source_port":1.5')],
    ["an exponent port", false, sub(/"source_port":\d+/, '"source_port":1e3')],
    ["a time that is not a time", false, sub(/"time":"[^"]*"/, '"time":"yesterday"')],
    [
      "a raw control character in the time (not JSON)",
      false,
      sub(/"time":"[^"]*"/, '"time":"2026-11-20T00:00:01\u0001Z"'),
    ],
    ["an escape in the uuid", false, sub(/"uuid":"[^"]*"/, '"uuid":"\\u0061bc"')],
    ["an empty uuid", false, sub(/"uuid":"[^"]*"/, '"uuid":""')],
    ["nested TCP flags", false, sub(/"flags":\{[^}]*\}/, '"flags":{"SYN":{"x":1}}')],
    ["TCP flags that are not JSON", false, sub(/"flags":\{[^}]*\}/, '"flags":{"SYN":tru}')],
    ["TCP flags that are not an object", false, sub(/"flags":\{[^}]*\}/, '"flags":[1]')],
    ["a field added at the end", false, `${line.slice(0, -1)},"x":1}`],
    ["trailing garbage", false, `${line} x`],
    ["a truncated line", false, line.slice(0, -2)],
    ["another node", false, line.replaceAll('"node_name":"kind-worker', '"node_name":"other-node')],
    ["a reply instead of a request", false, line.replace('"is_reply":false', '"is_reply":true')],
  ])("%s (read from the template: %s), never decoded differently", (_what, readable, changed) => {
    const { read } = taught([line]);
    const flow = read(changed);
    if (readable) expect(flow).toBeDefined();
    else expect(flow).toBeUndefined();
    if (flow) expect({ kind: "flow", flow }).toEqual(general(changed));
  });
});

describe("valueSpans", () => {
  const spans = (text: string, depth = 4) =>
    valueSpans(text, depth).map((s) => [s.keys.join("."), text.slice(s.start, s.end)]);

  it.each([
    [
      '{"a":1,"b":"x"}',
      [
        ["a", "1"],
        ["b", '"x"'],
      ],
    ],
    [
      '{ "a" : { "b" : true } , "c" : null }',
      [
        ["a.b", "true"],
        ["a", '{ "b" : true }'],
        ["c", "null"],
      ],
    ],
    [
      '{"a":[{"b":1}],"c":"]"}',
      [
        ["a", '[{"b":1}]'],
        ["c", '"]"'],
      ],
    ],
    ['{"k\\u0065y":"v\\"}"}', [["key", '"v\\"}"']]],
    [
      '{"a":{"b":{"c":{"d":{"e":1}}}}}',
      [
        ["a.b.c.d", '{"e":1}'],
        ["a.b.c", '{"d":{"e":1}}'],
        ["a.b", '{"c":{"d":{"e":1}}}'],
        ["a", '{"b":{"c":{"d":{"e":1}}}}'],
      ],
    ],
  ])("measures %s", (text, expected) => {
    expect(spans(text)).toEqual(expected);
  });
});
