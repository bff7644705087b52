import type { ByteSource } from "./byte-source.js";

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
  /**
   * Whether a final line without a newline is whole. When it says no (a file still being written),
   * the line is not emitted: the chunks end at the last newline, and `onHeldLine` is told.
   */
  isWholeLine?: (line: Buffer) => boolean;
  onHeldLine?: (info: OverlongLine) => void;
  /** Where chunk buffers come from (default: a fresh buffer each). */
  allocate?: (size: number) => Buffer;
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

/**
 * Builds chunks in buffers that each chunk owns whole: a worker thread can then read a chunk's
 * bytes without a copy. The source fills each buffer directly; only the unfinished line at the
 * end of a full buffer is copied again, into the next one.
 */
export async function* lineChunks(source: ByteSource, options: ChunkOptions): AsyncGenerator<LineChunk> {
  const { chunkBytes, maxLineBytes } = options;
  const allocate = options.allocate ?? Buffer.allocUnsafeSlow;
  let offset = options.startOffset;
  let line = options.startLine;
  let buf = allocate(chunkBytes);
  let filled = 0;
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

  for (;;) {
    const read = await source.read(buf, filled);
    if (read === 0) break;
    if (discarding) {
      const nl = buf.subarray(0, read).indexOf(10);
      if (nl === -1) {
        discardedBytes += read;
        offset += read;
        continue;
      }
      discardedBytes += nl + 1;
      offset += nl + 1;
      options.onOverlongLine({ line: discarding, bytes: discardedBytes });
      line = discarding + 1;
      discarding = 0;
      buf.copyWithin(0, nl + 1, read);
      filled = read - nl - 1;
      continue;
    }
    filled += read;
    if (filled < buf.length) continue;
    const lastNewline = buf.lastIndexOf(10, filled - 1);
    if (lastNewline !== -1) {
      const tail = filled - lastNewline - 1;
      const next = allocate(Math.max(chunkBytes, tail * 2));
      buf.copy(next, 0, lastNewline + 1, filled);
      yield emit(buf.subarray(0, lastNewline + 1), true);
      buf = next;
      filled = tail;
    } else if (filled > maxLineBytes) {
      discarding = line;
      discardedBytes = filled;
      offset += filled;
      buf = allocate(chunkBytes);
      filled = 0;
    } else {
      // One line fills the buffer: grow it, up to just past the line limit.
      const bigger = allocate(Math.min(buf.length * 2, maxLineBytes + 1));
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
  }
  if (discarding) {
    options.onOverlongLine({ line: discarding, bytes: discardedBytes });
    return;
  }
  if (filled > 0) {
    if (filled > maxLineBytes && buf.lastIndexOf(10, filled - 1) === -1) {
      options.onOverlongLine({ line, bytes: filled });
      return;
    }
    if (buf[filled - 1] !== 10 && options.isWholeLine) {
      const start = buf.lastIndexOf(10, filled - 1) + 1;
      if (!options.isWholeLine(buf.subarray(start, filled))) {
        const held = { line: line + countNewlines(buf.subarray(0, start)), bytes: filled - start };
        if (start > 0) yield emit(buf.subarray(0, start), true);
        options.onHeldLine?.(held);
        return;
      }
    }
    yield emit(buf.subarray(0, filled), buf[filled - 1] === 10);
  }
}
