/**
 * A minimal protobuf wire-format reader over a Buffer, for the selective decoders of the gRPC hot
 * path: it reads only the fields flowpol needs and skips the rest, without building messages.
 * 64-bit varints are read as numbers (exact up to 2^53, which covers times and counters).
 */
/** Node's Buffer has these fast slicers (used by toString), without the argument checks. */
interface FastSlices {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

export class WireReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    const buf = this.buf;
    let result = 0;
    let multiplier = 1;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError("truncated varint");
      const byte = buf[this.pos++] as number;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
      if (multiplier > 2 ** 63) throw new RangeError("varint longer than 10 bytes");
    }
  }

  /** Reads a tag: field number * 8 + wire type. */
  tag(): number {
    return this.varint();
  }

  /** The end offset of a length-delimited field whose length is next; the position moves past the length. */
  lengthEnd(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw new RangeError("length-delimited field runs past the end of its message");
    return end;
  }

  string(): string {
    const end = this.lengthEnd();
    const s = (this.buf as unknown as FastSlices).utf8Slice(this.pos, end);
    this.pos = end;
    return s;
  }

  /** The raw bytes of a length-delimited field as a Map key; the position moves past it. */
  rawKey(): string {
    const end = this.lengthEnd();
    const s = (this.buf as unknown as FastSlices).latin1Slice(this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.lengthEnd();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new RangeError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new RangeError("fixed-size field runs past the end of its message");
  }
}
