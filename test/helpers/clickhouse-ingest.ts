import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { detectFormat } from "../../src/collect/formats.js";
import { parseChunk } from "../../src/collect/parse-chunk.js";
import { decoderFor } from "../../src/collect/record.js";
import { UsageError } from "../../src/errors.js";
import { ClickHouseStore } from "../../src/store/clickhouse/store.js";

/**
 * Creates the store's tables on every shard of a cluster whose shards share one host (each server
 * reached at its own HTTP port): a writing open per shard, as a user points flowpol at each once.
 * An open that finds a shard still without tables fails naming it; the second round succeeds.
 */
export async function createOnEveryShard(urls: string[]): Promise<void> {
  for (const round of [1, 2]) {
    for (const url of urls) {
      try {
        await (await ClickHouseStore.open(url)).close();
      } catch (err) {
        if (round === 2 || !(err instanceof UsageError) || !/has no flowpol tables/.test(err.message)) throw err;
      }
    }
  }
}

/**
 * Stores a flow file in a ClickHouse store the way a file ingest does: chunks of lines parsed
 * into batches, each committed with the input's progress. `stopAfter` leaves the run as a kill
 * would (the ingest `running`, the last batch's data written but not committed).
 */
export async function ingestFileIntoClickHouse(
  store: ClickHouseStore,
  path: string,
  options: { linesPerBatch?: number; stopAfter?: number; now?: number } = {},
): Promise<number> {
  const raw = readFileSync(path);
  const content = path.endsWith(".gz") ? gunzipSync(raw) : raw;
  const lines = content.toString("utf8").split(/(?<=\n)/);
  const format = detectFormat(JSON.parse(lines[0] as string));
  if (!format) throw new Error(`no flow format in ${path}`);
  const now = options.now ?? Date.UTC(2026, 0, 5);
  const id = await store.startIngest(
    {
      source_system: format.system,
      kind: "file",
      path: resolve(path),
      format: format.name,
      head_hash: createHash("sha256")
        .update(content.subarray(0, 64 * 1024))
        .digest("hex"),
    },
    now,
  );
  const decode = decoderFor(format);
  const hash = createHash("sha256");
  const per = options.linesPerBatch ?? 1000;
  let offset = 0;
  for (let i = 0, n = 0; i < lines.length; i += per, n++) {
    const bytes = Buffer.from(lines.slice(i, i + per).join(""));
    hash.update(bytes);
    offset += bytes.length;
    const batch = parseChunk(bytes, i + 1, format, decode);
    const progress = {
      bytesDone: offset,
      linesDone: Math.min(i + per, lines.length),
      contentHash: hash.copy().digest("hex"),
    };
    if (options.stopAfter !== undefined && n >= options.stopAfter) {
      await store.stage(batch, "killed-before-commit", { ingestId: id, system: format.system, progress });
      return id;
    }
    await store.commit(batch, { ingestId: id, system: format.system, progress }, now);
  }
  await store.finishIngest(id, "complete", now, format.name);
  return id;
}
