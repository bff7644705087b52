/**
 * Chunk buffers, used again once a worker hands them back. A fresh buffer costs a page fault per
 * 4 KiB on first write, and its memory counts against the heap until it is collected.
 */
export class BufferPool {
  private free: ArrayBuffer[] = [];

  constructor(private readonly keep: number) {}

  /** A buffer of exactly `size` bytes, with whatever it held before. */
  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.byteLength === size);
    if (i === -1) return Buffer.allocUnsafeSlow(size);
    const [reused] = this.free.splice(i, 1);
    return Buffer.from(reused as ArrayBuffer);
  }

  give(buffer: ArrayBuffer): void {
    this.free.push(buffer);
    if (this.free.length > this.keep) this.free.shift();
  }
}
