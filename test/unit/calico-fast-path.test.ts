import { describe, expect, it } from "vitest";
import { calicoRecordFromJson } from "../../src/collect/calico/flow-log.js";
import { CalicoFlowLogDecoder } from "../../src/collect/calico/flow-log-decoder.js";
import { SCENARIOS } from "../../src/samples/online-boutique.js";
import { buildCluster, simulateEvents } from "../../src/samples/simulate.js";
import { EMITTERS } from "../../src/samples/write-simulation.js";

function simulated(format: string): string[] {
  const cluster = buildCluster(SCENARIOS["online-boutique"] as NonNullable<(typeof SCENARIOS)[string]>, 8);
  const emitter = EMITTERS[format]?.create(cluster, 9);
  const lines: string[] = [];
  for (const event of simulateEvents(cluster, 600, 10)) lines.push(...(emitter?.lines(event) ?? []));
  lines.push(...(emitter?.flush?.() ?? []));
  return lines;
}

describe("the Calico flow-log fast path", () => {
  it.each(["calico", "calico-level0", "calico-level1", "calico-level3"])(
    "decodes every %s line exactly as the general path does",
    (format) => {
      const decoder = new CalicoFlowLogDecoder();
      const lines = simulated(format);
      expect(lines.length).toBeGreaterThan(100);
      for (const line of lines) {
        const fast = decoder.decodeLine(line);
        expect(fast, line).toBeDefined();
        expect(fast).toEqual(calicoRecordFromJson(JSON.parse(line)));
      }
    },
  );

  it.each([
    ["spaces after colons (documentation samples)", (l: string) => l.replaceAll('":', '": ')],
    ["another field order", (l: string) => JSON.stringify({ proto: "tcp", ...JSON.parse(l) })],
    ["a field the fast path does not expect", (l: string) => l.replace(',"source_labels":', ',"x":1,"source_labels":')],
  ])("leaves lines with %s to the general path", (_what, change) => {
    const line = change(simulated("calico")[0] as string);
    const fast = new CalicoFlowLogDecoder().decodeLine(line);
    if (fast !== undefined) expect(fast).toEqual(calicoRecordFromJson(JSON.parse(line)));
  });

  it("gives the general path's reason for a bad record", () => {
    const line = (simulated("calico-level0")[0] as string).replace(
      /"source_namespace":"[a-z-]+"/,
      '"source_namespace":"Bad!"',
    );
    expect(new CalicoFlowLogDecoder().decodeLine(line)).toEqual(calicoRecordFromJson(JSON.parse(line)));
  });
});
