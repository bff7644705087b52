/**
 * Splits a byte stream into chunks of whole lines, so workers never see a split line. Lines
 * longer than `maxLineBytes` are cut out and reported instead of buffered without bound.
 */
export interface LineChunk {
  /** Alone in its ArrayBuffer (nothing else in use shares it), so it can be transferred. */
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

/** One copy of the pieces into memory of their own (never Node's shared pool for small buffers). */
function ownedConcat(pieces: readonly Buffer[], size: number): Buffer {
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const piece of pieces) at += piece.copy(out, at);
  return out;
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
    const joined = ownedConcat(pending, pendingBytes);
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
    // The partial last line is copied out first: the chunk's memory may be handed to a worker.
    const rest = joined.subarray(lastNewline + 1);
    pending = rest.length > 0 ? [Buffer.from(rest)] : [];
    pendingBytes = rest.length;
    yield emit(joined.subarray(0, lastNewline + 1), true);
  }
  if (discarding) {
    options.onOverlongLine({ line: discarding, bytes: discardedBytes });
    return;
  }
  if (pendingBytes > 0) {
    const joined = ownedConcat(pending, pendingBytes);
    if (joined.length > options.maxLineBytes) {
      options.onOverlongLine({ line, bytes: joined.length });
      return;
    }
    yield emit(joined, joined[joined.length - 1] === 10);
  }
}
