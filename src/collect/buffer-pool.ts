/**
 * Chunk buffers in shared memory, filled again once the worker that parsed one has answered.
 * Workers read a chunk in place: nothing is copied or moved between threads, and no buffer comes
 * and goes in a worker's heap. A moved (transferred) buffer counts as the worker's external memory
 * until V8 collects it, and 8 MiB chunks made workers run full collections often enough to cost
 * a fifth of the ingest's CPU. Fresh buffers also cost a page fault per 4 KiB on first write.
 */
export class BufferPool {
  private free: SharedArrayBuffer[] = [];

  constructor(private readonly keep: number) {}

  /** A buffer of exactly `size` bytes, with whatever it held before. */
  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.byteLength === size);
    if (i === -1) return Buffer.from(new SharedArrayBuffer(size));
    const [reused] = this.free.splice(i, 1);
    return Buffer.from(reused as SharedArrayBuffer);
  }

  /** Returns a buffer that no thread reads or writes any more. */
  give(buffer: SharedArrayBuffer): void {
    this.free.push(buffer);
    if (this.free.length > this.keep) this.free.shift();
  }
}
