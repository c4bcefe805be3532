/**
 * The client request body as the transports see it: streamed, never buffered whole, and
 * replayable to another attempt only while everything read so far fits in the replay buffer
 * (mod_jk keeps only the first packet for replay, §5.6).
 */
import { PassThrough, type Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { TransportError, type RequestBody } from './transport.js';

export function requestBodyLength(req: IncomingMessage): number {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return -1;
  const cl = req.headers['content-length'];
  if (cl === undefined) return 0;
  const n = Number(cl);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

export class ReplayableBody implements RequestBody {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  /** More was read than the replay buffer holds: the body cannot be sent again. */
  private overflowed = false;
  private ended = false;
  private failed: TransportError | null = null;
  private current: PassThrough | null = null;
  private attached = false;
  bytesRead = 0;

  constructor(
    private readonly req: IncomingMessage,
    readonly length: number,
    private readonly replayLimit: number,
  ) {}

  /** Whole body consumed by the last attempt and nothing was lost for a replay. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  open(): Readable | null {
    if (this.overflowed) return null;
    if (this.current !== null) {
      // An earlier attempt's stream: detach it so the client's bytes go to the new one only.
      this.current.removeAllListeners('drain');
      this.current.destroy();
    }
    const out = new PassThrough();
    this.current = out;
    this.bytesRead = this.keptBytes;
    for (const chunk of this.kept) out.write(chunk);
    if (this.failed) {
      out.destroy(this.failed);
    } else if (this.ended) {
      out.end();
    } else {
      out.on('drain', () => this.req.resume());
      this.attach();
    }
    return out;
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.req.on('data', (chunk: Buffer) => {
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
      if (out !== null && !out.destroyed && !out.write(chunk)) this.req.pause();
    });
    this.req.on('end', () => {
      this.ended = true;
      this.current?.end();
    });
    // A client that stops sending is the client's fault, never the member's (§5.7).
    const clientGone = (): void => {
      if (this.ended || this.failed) return;
      this.failed = new TransportError('client_error', 'client stopped sending the request body');
      this.current?.destroy(this.failed);
    };
    this.req.on('error', clientGone);
    this.req.on('close', clientGone);
  }
}
