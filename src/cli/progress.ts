import type { Writable } from "node:stream";

/**
 * A one-line progress display for long runs on a terminal: bytes read, rate, estimated time left.
 * Writes nothing when the stream is not a TTY, so logs and pipes stay clean.
 */
export class ProgressLine {
  private lastDraw = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly stream: Writable & { isTTY?: boolean },
    private readonly minIntervalMs = 200,
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(text: (elapsedSeconds: number) => string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < this.minIntervalMs) return;
    this.lastDraw = now;
    this.stream.write(`\r\x1b[2K${text((now - this.started) / 1000)}`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write("\r\x1b[2K");
    this.drawn = false;
  }
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
