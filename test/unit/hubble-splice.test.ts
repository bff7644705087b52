import { describe, expect, it } from "vitest";
import { valueEnd as objectEnd } from "../../src/collect/fast/json-scan.js";
import { EndpointSplicer } from "../../src/collect/hubble/endpoint-splice.js";
import { capturedHubbleLines, simulatedLines, withLines } from "../helpers/simulated.js";

/** Parses twice so the first pass teaches the splicer every endpoint. */
function primed(lines: string[]): EndpointSplicer {
  const splicer = new EndpointSplicer();
  for (const line of lines) splicer.parse(line);
  return splicer;
}

function parsedOrError(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return "invalid JSON";
  }
}

describe("the Hubble endpoint splicer", () => {
  it.each(
    withLines([
      ["simulated", simulatedLines("hubble", 2000)],
      ["captured (../shared/data/hubble)", capturedHubbleLines()],
    ]),
  )("parses every %s line as JSON.parse does, and most without parsing their endpoints", (_what, lines) => {
    const splicer = primed(lines);
    let spliced = 0;
    for (const line of lines) {
      const value = splicer.parse(line);
      if (value === undefined) continue;
      spliced++;
      expect(value).toEqual(JSON.parse(line));
    }
    expect(spliced).toBeGreaterThan(lines.length * 0.9);
  });

  const line = simulatedLines("hubble", 2000).find((l) => l.includes('"source":{"ID"')) as string;
  const source = line.slice(line.indexOf('"source":{') + 9, objectEnd(line, line.indexOf('"source":{') + 9));

  it.each([
    ["a second `source` later in the flow (the last one wins)", line.replace('"Type":', '"source":{"ID":9},"Type":')],
    ["a second `source` equal to a placeholder", line.replace('"Type":', '"source":"\\u0000\\u0001","Type":')],
    ["an escaped NUL elsewhere in the line", line.replace('"Type":"L3_L4"', '"Type":"L3_L4\\u0000"')],
    [
      "the endpoint nested one level deeper first",
      line.replace('"Type":', `"extensions":{"source":${source}},"Type":`),
    ],
    ["the endpoint text inside a string", line.replace('"Type":"L3_L4"', `"Type":${JSON.stringify(source)}`)],
    ["a truncated line", line.slice(0, line.indexOf('"destination":{') + 40)],
    ["a truncated endpoint", line.slice(0, line.indexOf('"source":{') + 9 + source.length - 1)],
    ["trailing garbage", `${line}x`],
    ["two objects on one line", `${line}${line}`],
    ["a Server-Sent Events data line", `data: ${line}`],
    [
      "the envelope's endpoints at the top level",
      line.replace('{"flow":{', `{"source":${source},"destination":{},"flow":{`),
    ],
    ["spaces after colons", line.replaceAll('":', '": ')],
    ["non-ASCII text in a label", line.replace("k8s:app=frontend", "k8s:app=fröntend-☃")],
  ])("gives JSON.parse's value or leaves the line to the general path: %s", (_what, changed) => {
    const splicer = primed([line]);
    const value = splicer.parse(changed);
    if (value !== undefined) expect(value).toEqual(parsedOrError(changed));
  });

  it("still splices after learning a changed pod (the label change makes a new text)", () => {
    const changed = line.replace("k8s:app=frontend", "k8s:app=frontend-v2");
    const splicer = primed([line, changed]);
    expect(splicer.parse(changed)).toEqual(JSON.parse(changed));
    expect(splicer.parse(line)).toEqual(JSON.parse(line));
  });

  it.each([
    ['{"a":"}"}', 0, 9],
    ['{"a":"\\"}"}', 0, 11],
    ['{"a":[{"b":{}}]},', 0, 16],
    ['{"a":"\\\\"}x', 0, 10],
    ['{"a":1', 0, -1],
  ])("finds where the object %s ends", (text, start, end) => {
    expect(objectEnd(text, start)).toBe(end);
  });
});
