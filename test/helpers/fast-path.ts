import { BatchBuilder } from "../../src/collect/batch-builder.js";
import { parseLine } from "../../src/collect/parse-chunk.js";
import type { RecordDecoder } from "../../src/collect/record.js";
import type { Batch } from "../../src/model/batch.js";

/** The lines through `decoder`, one batch, as a parse worker folds them. */
export function batchOf(lines: readonly string[], decoder: RecordDecoder): Batch {
  const builder = new BatchBuilder();
  lines.forEach((line, i) => {
    parseLine(line, i + 1, decoder, builder);
  });
  return builder.build();
}

/** Lines through a decoder's fast path, counting how many it recognised without parsing. */
export function fastBatch(lines: readonly string[], decoder: RecordDecoder): { batch: Batch; repeats: number } {
  let repeats = 0;
  const counting: RecordDecoder = {
    decode: (value) => decoder.decode(value),
    decodeLine: (text) => {
      const record = decoder.decodeLine?.(text);
      if (record?.kind === "repeat") repeats++;
      return record;
    },
  };
  return { batch: batchOf(lines, counting), repeats };
}

/**
 * Changed lines among their unchanged originals, through a decoder that learned the originals
 * first (so the changed ones meet templates they nearly fit): the batch on the fast path, and the
 * batch of the same lines on `general`, which must be equal.
 */
export function changedLineBatches(
  decoder: RecordDecoder,
  general: RecordDecoder,
  base: readonly string[],
  changed: readonly string[],
): { fast: Batch; general: Batch } {
  fastBatch(base, decoder);
  const mixed = [...changed, base[0] as string, ...changed];
  return { fast: fastBatch(mixed, decoder).batch, general: batchOf(mixed, general) };
}

/** A line with one member's value replaced by `value` (raw JSON text), keeping the field order. */
export function withMember(line: string, key: string, value: string): string {
  const obj = JSON.parse(line) as Record<string, unknown>;
  return JSON.stringify(obj).replace(
    new RegExp(`"${key}":(${JSON.stringify(obj[key]).replace(/[[\]{}().*+?^$|\\]/g, "\\$&")})`),
    () => `"${key}":${value}`,
  );
}
