/**
 * The one ReplyStream implementation the transports share: a transport pushes what the backend
 * sends (push/end/fail, in order, as it arrives); the data path takes it with start/resume/discard.
 * Chunks that arrive before start() (a small reply's head, body and end come in one read)
 * wait in a queue; backpressure from the sink is passed back as push() returning false.
 */
import type { ReplySink, ReplyStream, TransportError } from '../transport.js';

/** What the channel needs of the transport feeding it. */
export interface ReplySource {
  /** Start reading from the backend again after push() returned false. */
  resume(): void;
  /** The consumer gave up before the end: drop the connection. */
  discard(): void;
}

/** Bytes a reply may queue before anyone reads it (start()) without the backend being paused. */
const UNSTARTED_LIMIT = 64 * 1024;

export class ReplyChannel implements ReplyStream {
  private sink: ReplySink | null = null;
  private queue: Buffer[] | null = null;
  private queuedBytes = 0;
  private ended = false;
  private failure: TransportError | null = null;
  /** The sink said stop: later chunks queue until resume(). */
  private blocked = false;
  private closed = false;

  constructor(private readonly source: ReplySource) {}

  /** A body chunk from the backend; false = pause reading until the source's resume(). */
  push(chunk: Buffer): boolean {
    if (this.closed) return true;
    if (this.sink === null || this.blocked || this.queue !== null) {
      (this.queue ??= []).push(chunk);
      this.queuedBytes += chunk.length;
      // Unread so far: a small reply completes at once (its connection goes back to the pool); a
      // large one pauses the backend until start().
      return this.sink === null && this.queuedBytes < UNSTARTED_LIMIT;
    }
    if (this.sink.data(chunk)) return true;
    this.blocked = true;
    return false;
  }

  end(): void {
    this.ended = true;
    this.flush();
  }

  fail(err: TransportError): void {
    if (this.closed || this.ended) return;
    this.failure = err;
    this.queue = null;
    this.queuedBytes = 0;
    this.flush();
  }

  start(sink: ReplySink): void {
    this.sink = sink;
    const paused = this.queuedBytes >= UNSTARTED_LIMIT;
    this.flush();
    if (paused && !this.blocked && !this.closed) this.source.resume();
  }

  resume(): void {
    this.blocked = false;
    this.flush();
    if (!this.blocked && !this.closed) this.source.resume();
  }

  discard(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = null;
    this.queuedBytes = 0;
    if (!this.ended) this.source.discard();
  }

  private flush(): void {
    const sink = this.sink;
    if (sink === null || this.closed) return;
    const q = this.queue;
    if (q !== null) {
      while (q.length > 0 && !this.blocked) {
        const chunk = q.shift()!;
        this.queuedBytes -= chunk.length;
        if (!sink.data(chunk)) this.blocked = true;
      }
      if (q.length > 0) return;
      this.queue = null;
    }
    if (this.failure !== null) {
      this.closed = true;
      sink.error(this.failure);
    } else if (this.ended) {
      // Every chunk went to the sink (a full sink buffer still takes its end).
      this.closed = true;
      sink.end();
    }
  }
}
