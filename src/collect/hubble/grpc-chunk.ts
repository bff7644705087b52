import { createHash } from "node:crypto";
import type { Batch } from "../../model/batch.js";
import { BatchBuilder } from "../batch-builder.js";
import { reportDroppedLabels } from "../parse-chunk.js";
import { EndpointMemo, responseToRecord } from "./grpc-flow.js";
import { WireReader } from "./wire.js";

/**
 * Raw `GetFlowsResponse` messages travel from the gRPC stream to the parse workers in chunks:
 * each message prefixed by its length (4 bytes, little-endian). The main thread only peeks at a
 * message's time (for the resume cursor); workers decode and aggregate.
 */

export { GRPC_FORMAT } from "./grpc-format.js";

export class ChunkWriter {
  private buf: Buffer;
  private bytes = 0;
  count = 0;

  /**
   * `allocate` gives the chunk buffers: the parse pool's shared ones when workers parse the chunks.
   * A shared buffer goes to a worker without a copy, stays readable here for a re-parse should the
   * worker die, and is filled again once the worker answered: fresh or copied buffers cost a page
   * fault per 4 KiB written, which measured as the main thread's largest cost.
   */
  constructor(
    private capacity = 1024 * 1024,
    private readonly allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafeSlow(size),
  ) {
    this.buf = allocate(capacity);
  }

  add(message: Uint8Array): void {
    const needed = this.bytes + 4 + message.length;
    if (needed > this.buf.length) {
      this.capacity = Math.max(needed, this.buf.length * 2);
      const grown = this.allocate(this.capacity);
      this.buf.copy(grown, 0, 0, this.bytes);
      this.buf = grown;
    }
    this.buf.writeUInt32LE(message.length, this.bytes);
    this.buf.set(message, this.bytes + 4);
    this.bytes = needed;
    this.count++;
  }

  get size(): number {
    return this.bytes;
  }

  /** The chunk so far; the writer goes on in a buffer of its own. */
  take(): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.bytes);
    this.buf = this.allocate(this.capacity);
    this.bytes = 0;
    this.count = 0;
    return out;
  }
}

/** A worker's endpoints, decoded and parsed once across the chunks it is given. */
let workerMemo: EndpointMemo | undefined;

function workerEndpointMemo(): EndpointMemo {
  workerMemo ??= new EndpointMemo();
  return workerMemo;
}

/**
 * Decodes and aggregates a chunk. `firstMessage` numbers the messages in bad-record reports;
 * `cluster` (`--cluster`) names the cluster of every flow.
 */
export function parseGrpcChunk(
  bytes: Uint8Array,
  firstMessage: number,
  cluster?: string,
  memo = workerEndpointMemo(),
): Batch {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const builder = new BatchBuilder(cluster);
  let at = 0;
  let n = firstMessage;
  while (at + 4 <= buf.length) {
    const len = buf.readUInt32LE(at);
    const start = at + 4;
    const end = start + len;
    // With uuids: the store drops flows whose uuid and time it holds (see store/flow-uuids.ts).
    const record = responseToRecord(buf, start, end, memo, true);
    switch (record.kind) {
      case "flow":
        builder.addFlow(record.flow);
        reportDroppedLabels(record.flow, n, builder);
        break;
      case "lost":
        builder.addLost(record.lost);
        break;
      case "skip":
        builder.addSkipped();
        break;
      case "bad":
        builder.addBad(n, record.reason);
        break;
    }
    at = end;
    n++;
  }
  return builder.build();
}

/** A point in time with nanosecond precision, as protobuf Timestamps carry it. */
export interface NanoTime {
  seconds: number;
  nanos: number;
}

export function compareTime(a: NanoTime, b: NanoTime): number {
  return a.seconds !== b.seconds ? a.seconds - b.seconds : a.nanos - b.nanos;
}

function readTimestamp(r: WireReader): NanoTime {
  const end = r.lengthEnd();
  const t = { seconds: 0, nanos: 0 };
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 8) t.seconds = r.varint();
    else if (tag === 16) t.nanos = r.varint();
    else r.skip(tag & 7);
  }
  return t;
}

export type ResponseKind = "flow" | "lost" | "node_status" | "other";

export interface Peek {
  kind: ResponseKind;
  /** The event time: the envelope's `time`, else the flow's. Undefined when neither is set. */
  time: NanoTime | undefined;
}

/** Reads only the kind and time of a GetFlowsResponse. Throws RangeError on malformed bytes. */
export function peekResponse(buf: Buffer): Peek {
  const r = new WireReader(buf);
  let kind: ResponseKind = "other";
  let time: NanoTime | undefined;
  let flowStart = -1;
  while (!r.done) {
    const tag = r.tag();
    if (tag === ((1001 << 3) | 2)) time = readTimestamp(r);
    else if (tag === ((1 << 3) | 2)) {
      kind = "flow";
      flowStart = r.pos;
      r.skip(2);
    } else if (tag === ((2 << 3) | 2)) {
      kind = "node_status";
      r.skip(2);
    } else if (tag === ((3 << 3) | 2)) {
      kind = "lost";
      r.skip(2);
    } else r.skip(tag & 7);
  }
  if (!time && flowStart >= 0) {
    const f = new WireReader(buf, flowStart);
    const end = f.lengthEnd();
    while (f.pos < end) {
      const tag = f.tag();
      if (tag === ((1 << 3) | 2)) {
        time = readTimestamp(f);
        break;
      }
      f.skip(tag & 7);
    }
  }
  return { kind, time };
}

/**
 * The identity of a response for de-duplication after a reconnect: the flow's `uuid` when it has
 * one, else a hash of the message bytes (a server re-sends the same event with the same bytes).
 */
export function responseKey(buf: Buffer): string {
  const r = new WireReader(buf);
  while (!r.done) {
    const tag = r.tag();
    if (tag !== ((1 << 3) | 2)) {
      r.skip(tag & 7);
      continue;
    }
    const end = r.lengthEnd();
    while (r.pos < end) {
      const inner = r.tag();
      if (inner === ((34 << 3) | 2)) {
        const uuid = r.string();
        if (uuid) return `uuid:${uuid}`;
      } else r.skip(inner & 7);
    }
    break;
  }
  return `sha256:${createHash("sha256").update(buf).digest("base64")}`;
}
