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
 * Stores a flow file in a ClickHouse store through the store's write contract, as a file ingest
 * does: a lease, an ingest-log row (resumed from the stored progress when an earlier run stopped),
 * chunks of lines parsed into batches, each committed with the input's progress.
 */
export async function ingestFileIntoClickHouse(
  store: ClickHouseStore,
  path: string,
  options: { linesPerBatch?: number } = {},
): Promise<"ingested" | "resumed" | "already-ingested"> {
  const raw = readFileSync(path);
  const content = path.endsWith(".gz") ? gunzipSync(raw) : raw;
  const lines = content.toString("utf8").split(/(?<=\n)/);
  const format = detectFormat(JSON.parse(lines[0] as string));
  if (!format) throw new Error(`no flow format in ${path}`);
  const fullPath = resolve(path);
  const headHash = createHash("sha256")
    .update(content.subarray(0, 64 * 1024))
    .digest("hex");
  const lease = await store.acquireLeases([`input-path:${fullPath}`], `the input ${path}`, "wait");
  try {
    const [prior] = await store.findPriorIngests(headHash, fullPath);
    if (prior?.status === "complete" && prior.bytes_done === content.length) return "already-ingested";
    const ingestId = await store.beginIngest(
      prior
        ? { resume: prior, headHash, path: fullPath }
        : {
            row: {
              source_system: format.system,
              kind: "file",
              path: fullPath,
              format: format.name,
              head_hash: headHash,
            },
          },
      lease,
    );
    const decode = decoderFor(format);
    const hash = createHash("sha256");
    const per = options.linesPerBatch ?? 1000;
    let offset = 0;
    for (let i = 0; i < lines.length; i += per) {
      const bytes = Buffer.from(lines.slice(i, i + per).join(""));
      hash.update(bytes);
      offset += bytes.length;
      if (prior && offset <= prior.bytes_done) continue;
      const batch = parseChunk(bytes, i + 1, format, decode);
      const progress = {
        bytesDone: offset,
        linesDone: Math.min(i + per, lines.length),
        contentHash: hash.copy().digest("hex"),
      };
      await store.commitBatch({ ingestId, lease, batch, system: format.system, progress });
    }
    await store.finishIngest(ingestId, "complete", { format: format.name });
    return prior ? "resumed" : "ingested";
  } finally {
    await store.releaseLease(lease);
  }
}
