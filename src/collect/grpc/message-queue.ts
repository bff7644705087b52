import type { StreamCall } from "./channel.js";

/** Messages queued before the stream is paused: bounded memory when the reader is slower. */
const HIGH_WATER = 256;

/**
 * A server stream as an async iterable of decoded messages, with backpressure: the call is paused
 * while `HIGH_WATER` messages wait and resumed when the reader catches up. Iteration ends at the
 * stream's OK status and throws the ServiceError it ended with otherwise.
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  private readonly waiting: T[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: unknown;
  private call: StreamCall | undefined;

  /** Binds the call whose messages `push` receives. */
  attach(call: StreamCall): void {
    this.call = call;
    void call.done.then((outcome) => {
      this.ended = true;
      this.failure = outcome;
      this.notify();
    });
  }

  push(message: T): void {
    this.waiting.push(message);
    if (this.waiting.length >= HIGH_WATER) this.call?.pause();
    this.notify();
  }

  cancel(): void {
    this.call?.cancel();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.waiting.shift();
      if (next !== undefined) {
        if (this.waiting.length === HIGH_WATER / 2) this.call?.resume();
        yield next;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      this.call?.resume();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
