import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferPool } from "../../src/collect/buffer-pool.js";
import { fileSource, streamSource } from "../../src/collect/byte-source.js";
import { type LineChunk, lineChunks, type OverlongLine } from "../../src/collect/chunks.js";

async function* pieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length] as number;
    yield Buffer.from(data.subarray(at, at + size));
    at += size;
  }
}

async function chunked(data: Buffer, sizes: number[], chunkBytes: number, maxLineBytes: number) {
  const overlong: OverlongLine[] = [];
  const chunks: LineChunk[] = [];
  for await (const chunk of lineChunks(streamSource(pieces(data, sizes)), {
    chunkBytes,
    maxLineBytes,
    startOffset: 0,
    startLine: 1,
    onOverlongLine: (o) => overlong.push(o),
  })) {
    chunks.push(chunk);
  }
  return { chunks, overlong };
}

/** Lines of the given lengths (without their newline), numbered by their first character. */
function text(lengths: number[], terminated = true): Buffer {
  const lines = lengths.map((n, i) => String.fromCharCode(97 + (i % 26)).repeat(n));
  return Buffer.from(lines.join("\n") + (terminated ? "\n" : ""));
}

describe("lineChunks", () => {
  const lengths = [3, 0, 70, 12, 300, 5, 64, 63, 65, 1, 129, 2];
  it.each([
    ["one byte at a time", [1]],
    ["pieces smaller than a chunk", [7, 13, 31]],
    ["pieces larger than a chunk", [200, 500]],
    ["the whole input at once", [100_000]],
  ])("cuts whole lines, drops only the overlong one, and counts lines and offsets: %s", async (_what, sizes) => {
    const data = text(lengths);
    const { chunks, overlong } = await chunked(data, sizes, 64, 200);
    expect(overlong).toEqual([{ line: 5, bytes: 301 }]);
    const kept = data
      .toString()
      .split("\n")
      .slice(0, -1)
      .filter((l) => l.length <= 200)
      .map((l) => `${l}\n`)
      .join("");
    expect(Buffer.concat(chunks.map((c) => c.bytes)).toString()).toBe(kept);
    let line = 1;
    for (const chunk of chunks) {
      expect(chunk.bytes[chunk.bytes.length - 1]).toBe(10);
      expect(chunk.bytes.byteOffset).toBe(0);
      if (chunk.startLine === 5 || (line <= 5 && chunk.startLine > 5)) line = 6;
      expect(chunk.startLine).toBe(line);
      expect(chunk.lines).toBe(chunk.bytes.toString().split("\n").length - 1);
      line += chunk.lines;
      const before = data.indexOf(chunk.bytes);
      expect(chunk.endOffset).toBe(before + chunk.bytes.length);
    }
    expect(line).toBe(lengths.length + 1);
  });

  it("gives a last line without a newline as its own line", async () => {
    const { chunks } = await chunked(text([5, 6], false), [4], 64, 200);
    expect(chunks.map((c) => [c.bytes.toString(), c.startLine, c.lines])).toEqual([["aaaaa\nbbbbbb", 1, 2]]);
  });

  it("reports an overlong last line without a newline", async () => {
    const { chunks, overlong } = await chunked(text([5, 500], false), [64], 64, 200);
    expect(chunks.map((c) => c.bytes.toString())).toEqual(["aaaaa\n"]);
    expect(overlong).toEqual([{ line: 2, bytes: 500 }]);
  });
});

describe("lineChunks from a file", () => {
  it.each([
    ["from the start", 0],
    ["from an offset, as a resumed ingest reads", 76],
  ])("cuts the same chunks as from a stream of the same bytes: %s", async (_what, position) => {
    const data = text([3, 0, 70, 12, 300, 5, 64, 63, 65, 1, 129, 2], false);
    const dir = mkdtempSync(join(tmpdir(), "flowpol-chunks-"));
    const path = join(dir, "lines.txt");
    writeFileSync(path, data);
    const file = await open(path, "r");
    let read = 0;
    const options = { chunkBytes: 64, maxLineBytes: 200, startOffset: position, startLine: 1 };
    const fromFile: OverlongLine[] = [];
    const fileChunks: LineChunk[] = [];
    try {
      const source = fileSource(file, position, (n) => {
        read += n;
      });
      for await (const c of lineChunks(source, { ...options, onOverlongLine: (o) => fromFile.push(o) })) {
        fileChunks.push({ ...c, bytes: Buffer.from(c.bytes) });
      }
    } finally {
      await file.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const fromStream: OverlongLine[] = [];
    const streamChunks: LineChunk[] = [];
    const rest = data.subarray(position);
    for await (const c of lineChunks(streamSource(pieces(rest, [17])), {
      ...options,
      onOverlongLine: (o) => fromStream.push(o),
    })) {
      streamChunks.push(c);
    }
    expect(read).toBe(rest.length);
    expect(fileChunks.length).toBeGreaterThan(3);
    expect(fileChunks).toEqual(streamChunks);
    expect(fromFile).toEqual(fromStream);
    expect(fromFile).toEqual([{ line: position === 0 ? 5 : 2, bytes: 301 }]);
  });
});

describe("BufferPool", () => {
  it("hands back a returned buffer of the asked size, and keeps only as many as it may", () => {
    const pool = new BufferPool(2);
    const a = pool.take(64);
    const b = pool.take(64);
    const c = pool.take(32);
    for (const buf of [a, b, c]) pool.give(buf.buffer as SharedArrayBuffer);
    // Three given, two kept: the oldest (a) was let go.
    expect(pool.take(64).buffer).toBe(b.buffer);
    expect(pool.take(32).buffer).toBe(c.buffer);
    expect(pool.take(64).buffer).not.toBe(a.buffer);
    expect(pool.take(128).length).toBe(128);
  });
});
