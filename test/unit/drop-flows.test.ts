import { describe, expect, it } from "vitest";
import { HubbleDecoder, hubbleFormat } from "../../src/collect/hubble/json-flow.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import { type Batch, endpointKey } from "../../src/model/batch.js";
import { withoutFlows } from "../../src/model/drop-flows.js";
import { simulatedLines } from "../helpers/simulated.js";

/** The counters of a batch, keyed by what they count: comparable whatever the order of entries. */
function counters(b: Batch): Record<string, number> {
  const out: Record<string, number> = { flows: b.flows, replies: b.replies };
  for (const e of b.endpoints) if (e.count > 0) out[`endpoint ${endpointKey(e.ref)}`] = e.count;
  for (const e of b.edges) {
    const key = `edge ${endpointKey(e.src)} ${endpointKey(e.dst)} ${e.protocol}/${e.port} ${e.verdict}`;
    out[key] = e.count;
    for (const [p, n] of Object.entries(e.policies)) out[`${key} policy ${p}`] = n;
  }
  for (const s of b.services) out[`service ${s.namespace}/${s.name} ${endpointKey(s.endpoint)} ${s.port}`] = s.count;
  for (const d of b.dnsNames) out[`dns ${d.ip} ${d.name}`] = d.count;
  return out;
}

function parse(lines: string[]): Batch {
  return parseChunk(Buffer.from(`${lines.join("\n")}\n`), 1, hubbleFormat, new HubbleDecoder());
}

describe("withoutFlows", () => {
  const lines = simulatedLines("hubble", 600).filter((l) => l.includes('"uuid"'));

  it("takes flows out of every counter, as if their lines were never read (templated and general lines)", () => {
    const all = parse(lines);
    const ids = all.flowIds;
    expect(ids?.uuids.length).toBe(all.flows);
    // Every third flow, and a run of consecutive ones.
    const drop = new Set<number>();
    for (let i = 0; i < (ids?.uuids.length ?? 0); i++) if (i % 3 === 1 || (i > 100 && i < 160)) drop.add(i);
    const dropped = new Set([...drop].map((i) => ids?.uuids[i]));
    const kept = lines.filter((l) => !dropped.has(/"uuid":"([^"]+)"/.exec(l)?.[1]));
    const expected = parse(kept);
    const got = withoutFlows(all, drop);
    expect(counters(got)).toEqual(counters(expected));
    expect(got.flowIds?.uuids).toEqual(expected.flowIds?.uuids);
  });

  it("leaves a batch alone when nothing is dropped", () => {
    const all = parse(lines.slice(0, 50));
    expect(withoutFlows(all, new Set())).toBe(all);
  });
});
