import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";

const WINDOW_TIMES = /"start_time":(\d+),"end_time":(\d+)/;

/**
 * Writes `copies` of a simulated Calico flow log one after another, each `shiftSeconds` later
 * than the one before (`start_time`/`end_time` moved, nothing else): a longer capture of the same
 * traffic. The simulator aggregates a fixed span of time, so at EE's default aggregation it gives
 * about 136,000 records however many flows it simulates; repeating that span is the cheap way to a
 * file of a million records. Returns the number of records written.
 */
export async function repeatFlowLog(source: string, target: string, copies: number, shiftSeconds: number) {
  const out = createWriteStream(target);
  let records = 0;
  let buffer = "";
  for (let copy = 0; copy < copies; copy++) {
    const shift = copy * shiftSeconds;
    const lines = createInterface({ input: createReadStream(source), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (!line) continue;
      buffer += `${line.replace(WINDOW_TIMES, (_, start, end) => `"start_time":${Number(start) + shift},"end_time":${Number(end) + shift}`)}\n`;
      records++;
      if (buffer.length > 1 << 20) {
        if (!out.write(buffer)) await once(out, "drain");
        buffer = "";
      }
    }
  }
  out.end(buffer);
  await once(out, "finish");
  return records;
}
