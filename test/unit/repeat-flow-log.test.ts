import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repeatFlowLog } from "../../bench/repeat-flow-log.js";

describe("repeatFlowLog (bench input)", () => {
  const dir = mkdtempSync(join(tmpdir(), "flowpol-repeat-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the copies one after another, each later by the shift, with nothing else changed", async () => {
    const source = join(dir, "in.log");
    const lines = [
      '{"start_time":100,"end_time":400,"source_name":"a","num_flows":3}',
      '{"start_time":400,"end_time":700,"source_name":"start_time","num_flows":1}',
    ];
    writeFileSync(source, `${lines.join("\n")}\n\n`);
    const target = join(dir, "out.log");
    expect(await repeatFlowLog(source, target, 3, 1000)).toBe(6);
    expect(readFileSync(target, "utf8").split("\n")).toEqual([
      lines[0],
      lines[1],
      '{"start_time":1100,"end_time":1400,"source_name":"a","num_flows":3}',
      '{"start_time":1400,"end_time":1700,"source_name":"start_time","num_flows":1}',
      '{"start_time":2100,"end_time":2400,"source_name":"a","num_flows":3}',
      '{"start_time":2400,"end_time":2700,"source_name":"start_time","num_flows":1}',
      "",
    ]);
  });
});
