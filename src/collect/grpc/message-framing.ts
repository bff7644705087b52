/**
 * gRPC's length-prefixed messages on an HTTP/2 stream: a 1-byte compressed flag, a 4-byte
 * big-endian length, then the message. flowpol never negotiates compression, so the flag is 0.
 */

export const FRAME_HEADER_BYTES = 5;

/** Frames messages into one buffer, so a stream can write many of them with one HTTP/2 write. */
export function frameMessages(messages: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const m of messages) size += FRAME_HEADER_BYTES + m.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const m of messages) {
    out[at] = 0;
    out.writeUInt32BE(m.length, at + 1);
    out.set(m, at + FRAME_HEADER_BYTES);
    at += FRAME_HEADER_BYTES + m.length;
  }
  return out;
}

/** Thrown by MessageDeframer for a message flowpol cannot read (compressed, or too large). */
export class FramingError extends Error {}

/**
 * Splits the DATA chunks of a gRPC stream back into messages. A message inside one chunk is
 * handed over as a view of that chunk (no copy); one that spans chunks is assembled.
 */
export class MessageDeframer {
  private pending: Buffer | undefined;

  constructor(private readonly maxMessageBytes = 64 * 1024 * 1024) {}

  /** Bytes of an unfinished message: non-zero when a stream ends here, it was cut mid-message. */
  get pendingBytes(): number {
    return this.pending?.length ?? 0;
  }

  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let at = 0;
    if (this.pending) {
      // Complete the message that spans chunks from as few bytes of this chunk as it needs.
      const pending = this.pending;
      const header = pending.length >= FRAME_HEADER_BYTES ? pending : Buffer.concat([pending, chunk]);
      const need =
        header.length >= FRAME_HEADER_BYTES
          ? FRAME_HEADER_BYTES + this.checkedLength(header, 0)
          : Number.POSITIVE_INFINITY;
      const take = Math.min(chunk.length, need - pending.length);
      this.pending = Buffer.concat([pending, chunk.subarray(0, take)]);
      at = take;
      if (this.pending.length < need) return;
      onMessage(this.pending.subarray(FRAME_HEADER_BYTES));
      this.pending = undefined;
    }
    while (chunk.length - at >= FRAME_HEADER_BYTES) {
      const end = at + FRAME_HEADER_BYTES + this.checkedLength(chunk, at);
      if (end > chunk.length) break;
      onMessage(chunk.subarray(at + FRAME_HEADER_BYTES, end));
      at = end;
    }
    if (at < chunk.length) this.pending = Buffer.from(chunk.subarray(at));
  }

  private checkedLength(buf: Buffer, at: number): number {
    if (buf[at] !== 0) throw new FramingError("received a compressed message, but no compression was negotiated");
    const length = buf.readUInt32BE(at + 1);
    if (length > this.maxMessageBytes) {
      throw new FramingError(`received a message of ${length} bytes, more than the limit of ${this.maxMessageBytes}`);
    }
    return length;
  }
}
