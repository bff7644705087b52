import { describe, expect, it } from "vitest";
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
  for await (const chunk of lineChunks(pieces(data, sizes), {
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
