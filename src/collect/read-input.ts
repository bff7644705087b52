import { createReadStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { InputError } from "../errors.js";

/** An input opened for reading: decompressed bytes, and how far through the raw bytes we are. */
export interface OpenedInput {
  /** The name used in messages: the path, or "-" for stdin. */
  name: string;
  stream: AsyncIterable<Buffer>;
  /** Size of the raw (possibly compressed) input, when known. */
  totalBytes: number | undefined;
  rawBytesRead: () => number;
  gzip: boolean;
  /** A regular file, which can be read again from any position. */
  regularFile: boolean;
  close: () => void;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** Opens a file or stdin ("-"), transparently gunzipping when the content is gzip. */
export async function openInput(path: string, stdin: Readable = process.stdin): Promise<OpenedInput> {
  let raw: Readable;
  let totalBytes: number | undefined;
  let regularFile = false;
  if (path === "-") {
    raw = stdin;
  } else {
    let size: number;
    try {
      const st = statSync(path);
      if (st.isDirectory()) throw new InputError(`${path} is a directory`, undefined, "name the flow files inside it");
      size = st.size;
      regularFile = st.isFile();
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`cannot read ${path}: no such file`, undefined, "check the path", { cause: err });
    }
    totalBytes = size;
    raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  }
  let rawRead = 0;
  const iterator = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await iterator.next();
  const firstChunk: Buffer | undefined = first.done
    ? undefined
    : Buffer.isBuffer(first.value)
      ? first.value
      : Buffer.from(first.value);
  const gzip = firstChunk !== undefined && firstChunk[0] === GZIP_MAGIC_0 && firstChunk[1] === GZIP_MAGIC_1;

  async function* rawChunks(): AsyncGenerator<Buffer> {
    if (firstChunk) {
      rawRead += firstChunk.length;
      yield firstChunk;
    }
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      // Streams hand out a new buffer per read; only other kinds of chunks need a copy.
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      rawRead += chunk.length;
      yield chunk;
    }
  }

  let stream: AsyncIterable<Buffer> = rawChunks();
  if (gzip) stream = gunzip(rawChunks(), path);
  return {
    name: path,
    stream,
    totalBytes,
    rawBytesRead: () => rawRead,
    gzip,
    regularFile,
    close: () => {
      if (path !== "-") raw.destroy();
    },
  };
}

async function* gunzip(source: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  const gz = createGunzip();
  const pump = (async () => {
    try {
      for await (const chunk of source) {
        if (!gz.write(chunk)) await new Promise((resolve) => gz.once("drain", resolve));
      }
      gz.end();
    } catch (err) {
      gz.destroy(err as Error);
    }
  })();
  try {
    for await (const chunk of gz) yield chunk as Buffer;
  } catch (err) {
    throw new InputError(
      `${name}: the gzip data is corrupt or truncated (${(err as Error).message})`,
      undefined,
      "re-copy the file, or decompress what is readable with `zcat` and ingest that",
      { cause: err },
    );
  }
  await pump;
}
