import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { detectFormat, formatByName } from "../collect/formats.js";
import { openInput } from "../collect/read-input.js";
import type { RecordFormat } from "../collect/record.js";
import { InputError } from "../errors.js";
import type { Flow } from "../model/flow.js";
import { flowRole } from "../model/initiator.js";

export interface ReadFlowsResult {
  /** Flows as `flowpol ingest` counts them: a record stands for `count` connections (Calico aggregates). */
  flows: number;
  /** Of those, replies (counted in `flows` too, as ingest does). */
  replies: number;
  lost: number;
  skipped: number;
  badLines: Array<{ file: string; line: number; reason: string }>;
  bad: number;
}

/**
 * Streams the flow records of files (or "-") through `onFlow`, with the same parsing and format
 * detection as `flowpol ingest`. Bad lines are counted and the first few kept with their line.
 */
export async function readFlows(
  inputs: readonly string[],
  formatName: string,
  onFlow: (flow: Flow) => void,
  stdin: Readable = process.stdin,
): Promise<ReadFlowsResult> {
  const result: ReadFlowsResult = { flows: 0, replies: 0, lost: 0, skipped: 0, badLines: [], bad: 0 };
  for (const input of inputs) {
    const opened = await openInput(input, stdin);
    let format: RecordFormat | undefined = formatName === "auto" ? undefined : formatByName(formatName);
    let line = 0;
    let sawRecord = false;
    const bad = (reason: string) => {
      result.bad++;
      if (result.badLines.length < 5) result.badLines.push({ file: input, line, reason });
    };
    try {
      const lines = createInterface({ input: Readable.from(opened.stream), crlfDelay: Number.POSITIVE_INFINITY });
      for await (const text of lines) {
        line++;
        if (!text.trim()) continue;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          bad("the line is not valid JSON");
          continue;
        }
        format ??= detectFormat(value);
        if (!format) {
          bad("JSON but no known flow record");
          continue;
        }
        for (const item of Array.isArray(value) ? value : [value]) {
          const record = format.toRecord(item);
          if (record.kind === "flow") {
            sawRecord = true;
            countFlow(result, record.flow);
            onFlow(record.flow);
          } else if (record.kind === "lost") {
            sawRecord = true;
            result.lost += record.lost.lost;
          } else if (record.kind === "skip") result.skipped++;
          else bad(record.reason);
        }
      }
    } finally {
      opened.close();
    }
    if (!sawRecord && line > 0) {
      throw new InputError(
        `${input} is not a flow file: no line is a Hubble or Calico flow record`,
        undefined,
        "give a file written by `hubble observe -o jsonpb`, the Hubble exporter, or Calico flow logs",
      );
    }
  }
  return result;
}

/** Counts a flow as `flowpol ingest` does. */
export function countFlow(result: Pick<ReadFlowsResult, "flows" | "replies">, flow: Flow): void {
  result.flows += flow.count;
  if (flowRole(flow) === "reply") result.replies += flow.count;
}
