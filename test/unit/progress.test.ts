import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, ProgressLine } from "../../src/cli/progress.js";

function capture(isTTY: boolean): Writable & { isTTY: boolean; text: string } {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      (stream as unknown as { text: string }).text += String(chunk);
      done();
    },
  }) as Writable & { isTTY: boolean; text: string };
  stream.isTTY = isTTY;
  stream.text = "";
  return stream;
}

describe("ProgressLine", () => {
  it("draws and clears one line on a terminal", () => {
    const tty = capture(true);
    const progress = new ProgressLine(tty, 0);
    progress.update(() => "12.0 MiB  1000 flows");
    progress.done();
    expect(tty.text).toBe("\r\x1b[2K12.0 MiB  1000 flows\r\x1b[2K");
  });

  it("writes nothing when the stream is not a terminal", () => {
    const pipe = capture(false);
    const progress = new ProgressLine(pipe, 0);
    progress.update(() => "anything");
    progress.done();
    expect(pipe.text).toBe("");
  });
});

describe("progress formatting", () => {
  it.each([
    [512, "512 B"],
    [1536, "1.5 KiB"],
    [5 * 1024 * 1024, "5.0 MiB"],
  ])("formats %d bytes as %s", (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it.each([
    [42, "42s"],
    [125, "2m05s"],
    [7260, "2h01m"],
    [Number.NaN, "?"],
  ])("formats %d seconds as %s", (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });
});
