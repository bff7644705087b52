import type { FileHandle } from "node:fs/promises";

/**
 * Where `lineChunks` gets its bytes: it asks a source to fill the free end of the chunk it is
 * building, so a file is read straight into the buffer that a worker then reads.
 */
export interface ByteSource {
  /** Reads at most `target.length - offset` bytes into `target` at `offset`; 0 at the end. */
  read(target: Buffer, offset: number): Promise<number>;
}

/** A stream's pieces (stdin, gunzip output), copied into the chunk being built. */
export function streamSource(stream: AsyncIterable<Buffer>): ByteSource {
  const pieces = stream[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  return {
    async read(target, offset) {
      while (pending.length === 0) {
        const next = await pieces.next();
        if (next.done) return 0;
        pending = next.value;
      }
      const copied = pending.copy(target, offset, 0, Math.min(pending.length, target.length - offset));
      pending = pending.subarray(copied);
      return copied;
    },
  };
}

/** A plain file from `position` on, read with no copy in between. */
export function fileSource(file: FileHandle, position: number, onRead: (bytes: number) => void): ByteSource {
  return {
    async read(target, offset) {
      const { bytesRead } = await file.read(target, offset, target.length - offset, position);
      position += bytesRead;
      onRead(bytesRead);
      return bytesRead;
    },
  };
}
