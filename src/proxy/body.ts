/**
 * The client request body as the transports see it: streamed, never buffered whole, and
 * replayable to another attempt only while everything read so far fits in the replay buffer
 * (mod_jk keeps only the first packet for replay).
 *
 * A body that fails (client gone, or silent for longer than the body idle timeout) fails every
 * stream it handed out with a client_error TransportError; each stream carries its own no-op error
 * listener, so a failure before a transport listens (a request still waiting for a pool slot) is
 * recorded, never an uncaught 'error' event.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { TransportError, type RequestBody } from './transport.js';

/**
 * The body's length from the raw headers (req.headers would make Node build its header object,
 * which nothing else on the request path needs): 0 for none, -1 when chunked or unknown. Node's
 * parser and headProblem() have refused conflicting framing before this runs.
 */
export function requestBodyLength(raw: readonly string[]): number {
  let cl: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].length;
    if (n === 17 && raw[i].toLowerCase() === 'transfer-encoding') return -1;
    if (n === 14 && cl === null && raw[i].toLowerCase() === 'content-length') cl = raw[i + 1];
  }
  if (cl === null) return 0;
  const len = Number(cl);
  return Number.isSafeInteger(len) && len >= 0 ? len : -1;
}

const ignore = (): void => {};

/** A request body as the data path drives it across attempts. */
export interface ClientBody extends RequestBody {
  readonly replayable: boolean;
  readonly timedOut: boolean;
  close(): void;
}

/** The body of a request that has none (most of them): nothing to read, nothing to allocate. */
export const NO_BODY: ClientBody = {
  length: 0,
  bytesRead: 0,
  replayable: true,
  timedOut: false,
  open: () => null,
  close: () => {},
};

export class ReplayableBody implements ClientBody {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  /** More was read than the replay buffer holds: the body cannot be sent again. */
  private overflowed = false;
  private ended = false;
  private failed: TransportError | null = null;
  private current: PassThrough | null = null;
  private attached = false;
  /** Runs while we want bytes and the client sends none; null until the first open(). */
  private idleTimer: NodeJS.Timeout | null = null;
  /** Paused for backpressure: the backend is slow, not the client (the idle clock does not count). */
  private waitingOnBackend = false;
  bytesRead = 0;

  constructor(
    private readonly req: IncomingMessage,
    readonly length: number,
    private readonly replayLimit: number,
    /** ms the client may leave the body silent while we are reading it; 0 = no limit. */
    private readonly idleTimeoutMs: number,
  ) {}

  /** Whole body consumed by the last attempt and nothing was lost for a replay. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  /** The client left the body silent for longer than the idle timeout (the client gets 408). */
  get timedOut(): boolean {
    return this.failed !== null && this.failed.clientStatus === 408;
  }

  open(): Readable | null {
    if (this.overflowed) return null;
    if (this.current !== null) {
      // An earlier attempt's stream: detach it so the client's bytes go to the new one only.
      this.current.removeAllListeners('drain');
      this.current.destroy();
    }
    const out = new PassThrough();
    out.on('error', ignore);
    this.current = out;
    this.bytesRead = this.keptBytes;
    let room = true;
    for (const chunk of this.kept) room = out.write(chunk);
    if (this.failed) {
      out.destroy(this.failed);
    } else if (this.ended) {
      out.end();
    } else {
      out.on('drain', () => this.resume());
      this.attach();
      // The client was paused for the earlier attempt's stream, whose 'drain' will never come.
      if (room && this.waitingOnBackend) this.resume();
    }
    return out;
  }

  /** Stop the idle clock once the request is over (the body may be unread). */
  close(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
  }

  private resume(): void {
    this.waitingOnBackend = false;
    this.idleTimer?.refresh();
    this.req.resume();
  }

  private onIdle(): void {
    if (this.waitingOnBackend) this.idleTimer?.refresh();
    else this.fail(new TransportError('client_error', 'the request body stalled', false, 408));
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    const req = this.req;
    if (this.idleTimeoutMs > 0) {
      this.idleTimer = setTimeout(() => this.onIdle(), this.idleTimeoutMs);
      this.idleTimer.unref();
    }
    req.on('data', (chunk: Buffer) => {
      this.bytesRead += chunk.length;
      if (!this.overflowed) {
        if (this.keptBytes + chunk.length <= this.replayLimit) {
          this.kept.push(chunk);
          this.keptBytes += chunk.length;
        } else {
          this.overflowed = true;
          this.kept.length = 0;
          this.keptBytes = 0;
        }
      }
      const out = this.current;
      this.idleTimer?.refresh();
      if (out !== null && !out.destroyed && !out.write(chunk)) {
        this.waitingOnBackend = true;
        req.pause();
      }
    });
    req.on('end', () => {
      this.ended = true;
      this.close();
      this.current?.end();
    });
    // A client that stops sending is the client's fault, never the member's.
    const clientGone = (): void => this.fail(new TransportError('client_error', 'client stopped sending the request body'));
    req.on('error', clientGone);
    req.on('close', clientGone);
  }

  private fail(err: TransportError): void {
    if (this.ended || this.failed) return;
    this.failed = err;
    this.close();
    this.current?.destroy(err);
  }
}
