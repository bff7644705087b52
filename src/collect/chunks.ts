/**
 * Splits a byte stream into chunks of whole lines, so workers never see a split line. Lines
 * longer than `maxLineBytes` are cut out and reported instead of buffered without bound.
 */
export interface LineChunk {
  bytes: Buffer;
  /** 1-based number of the chunk's first line. */
  startLine: number;
  /** Number of newline-terminated lines in the chunk (plus one for a final unterminated line). */
  lines: number;
  /** Offset just past the chunk in the decompressed stream. */
  endOffset: number;
}

export interface OverlongLine {
  line: number;
  bytes: number;
}

export interface ChunkOptions {
  chunkBytes: number;
  maxLineBytes: number;
  /** Offset of the first byte of the stream (when resuming after a skip). */
  startOffset: number;
  startLine: number;
  onOverlongLine: (info: OverlongLine) => void;
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  let i = buf.indexOf(10);
  while (i !== -1) {
    n++;
    i = buf.indexOf(10, i + 1);
  }
  return n;
}

export async function* lineChunks(source: AsyncIterable<Buffer>, options: ChunkOptions): AsyncGenerator<LineChunk> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = options.startOffset;
  let line = options.startLine;
  /** While > 0 we are discarding the rest of an overlong line that started at this line. */
  let discarding = 0;
  let discardedBytes = 0;

  function emit(bytes: Buffer, terminated: boolean): LineChunk {
    const lines = countNewlines(bytes) + (terminated ? 0 : 1);
    const chunk = { bytes, startLine: line, lines, endOffset: offset + bytes.length };
    line += lines;
    offset += bytes.length;
    return chunk;
  }

  for await (let buf of source) {
    if (discarding) {
      const nl = buf.indexOf(10);
      if (nl === -1) {
        discardedBytes += buf.length;
        offset += buf.length;
        continue;
      }
      discardedBytes += nl + 1;
      offset += nl + 1;
      options.onOverlongLine({ line: discarding, bytes: discardedBytes });
      line = discarding + 1;
      discarding = 0;
      buf = buf.subarray(nl + 1);
    }
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes < options.chunkBytes && pendingBytes <= options.maxLineBytes) continue;
    const joined = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    const lastNewline = joined.lastIndexOf(10);
    if (lastNewline === -1) {
      if (joined.length > options.maxLineBytes) {
        discarding = line;
        discardedBytes = joined.length;
        offset += joined.length;
        pending = [];
        pendingBytes = 0;
      } else {
        pending = [joined];
      }
      continue;
    }
    yield emit(joined.subarray(0, lastNewline + 1), true);
    const rest = joined.subarray(lastNewline + 1);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
  }
  if (discarding) {
    options.onOverlongLine({ line: discarding, bytes: discardedBytes });
    return;
  }
  if (pendingBytes > 0) {
    const joined = Buffer.concat(pending, pendingBytes);
    if (joined.length > options.maxLineBytes) {
      options.onOverlongLine({ line, bytes: joined.length });
      return;
    }
    yield emit(joined, joined[joined.length - 1] === 10);
  }
}
