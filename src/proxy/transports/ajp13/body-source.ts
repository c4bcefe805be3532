/**
 * Pulls the client request body in pieces of at most N bytes, as the container asks for them
 * (GET_BODY_CHUNK), so only what one packet needs is ever held here.
 */
import type { Readable } from 'node:stream';

export class BodySource {
  private rest: Buffer | null = null;
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;
  private readonly notify = (): void => {
    const w = this.wake;
    this.wake = null;
    w?.();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (err: Error): void => {
    this.error = err;
    this.notify();
  };

  constructor(private readonly stream: Readable) {
    stream.on('readable', this.notify);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('close', this.notify);
  }

  /** Up to `max` (> 0) bytes, waiting for at least one; null at the end of the body. Throws the stream's error. */
  async take(max: number): Promise<Buffer | null> {
    for (;;) {
      const rest = this.rest;
      if (rest !== null) {
        if (rest.length <= max) {
          this.rest = null;
          return rest;
        }
        this.rest = rest.subarray(max);
        return rest.subarray(0, max);
      }
      if (this.error) throw this.error;
      if (this.ended || this.stream.readableEnded) return null;
      if (this.stream.destroyed) throw new Error('request body stream destroyed');
      const chunk = this.stream.read() as Buffer | string | null;
      if (chunk !== null) {
        this.rest = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
        if (this.rest.length === 0) this.rest = null;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Stop listening; the stream itself belongs to the request body. */
  dispose(): void {
    this.stream.off('readable', this.notify);
    this.stream.off('end', this.onEnd);
    this.stream.off('error', this.onError);
    this.stream.off('close', this.notify);
  }
}
