/**
 * One request/reply cycle on one AJP connection: send the forward request (and the first body chunk
 * when Content-Length > 0, as mod_jk does), answer GET_BODY_CHUNK from the client body, surface
 * SEND_HEADERS as the BackendResponse and stream SEND_BODY_CHUNK into its body until END_RESPONSE.
 */
import type { Readable } from 'node:stream';
import { TransportError, type BackendResponse, type ForwardRequest } from '../../transport.js';
import { ReplyChannel, type ReplySource } from '../reply-channel.js';
import { BodySource } from './body-source.js';
import {
  AjpProtocolError,
  EMPTY_BODY_PACKET,
  bodyChunkHeader,
  decodeBodyChunk,
  decodeEndResponse,
  decodeGetBodyChunk,
  decodeSendHeaders,
} from './codec.js';
import type { AjpConnection, ConnectionListener } from './connection.js';
import * as P from './protocol.js';

/**
 * A reused connection was reset before the container said anything: the container had closed it
 * (keep-alive timeout) and never read this request, so it may go again on a fresh connection.
 */
export class StaleConnectionError extends Error {
  constructor(cause: string) {
    super(`pooled AJP connection was stale: ${cause}`);
    this.name = 'StaleConnectionError';
  }
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

export interface ExchangeContext {
  readonly conn: AjpConnection;
  readonly reused: boolean;
  readonly maxPacketSize: number;
  /** The body stream for this attempt (null when the request has no body). */
  readonly body: Readable | null;
  /** Give the connection back; `reusable` only after a clean END_RESPONSE with reuse = 1. */
  readonly release: (conn: AjpConnection, reusable: boolean) => void;
}

type State = 'head' | 'body' | 'done';

export class Exchange implements ConnectionListener, ReplySource {
  private state: State = 'head';
  private reply: ReplyChannel | null = null;
  private sent = 0;
  private received = 0;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  /** Body packets queued or being sent: the container is waiting for us, not we for it. */
  private bodyOps = 0;
  private bodyChain: Promise<void> = Promise.resolve();
  private bodySent = 0;
  private bodyFinished: boolean;
  private askedForBody = false;
  private readonly source: BodySource | null;
  private readonly maxChunk: number;
  private resolveHead!: (r: BackendResponse) => void;
  private rejectHead!: (e: Error) => void;
  private readonly onAbort = (): void => this.fail(new TransportError('client_error', 'client went away', this.sent === 0));

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly req: ForwardRequest,
  ) {
    this.source = ctx.body ? new BodySource(ctx.body) : null;
    this.bodyFinished = ctx.body === null;
    this.maxChunk = ctx.maxPacketSize - P.BODY_HEADER_SIZE;
  }

  /** Send the forward-request packet; resolves with the reply head. Rejects with TransportError or StaleConnectionError. */
  run(packet: Buffer): Promise<BackendResponse> {
    const head = new Promise<BackendResponse>((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.ctx.conn.attach(this);
    if (this.req.signal.aborted) {
      // The client left while we were getting the connection ready.
      this.onAbort();
      return head;
    }
    this.req.signal.addEventListener('abort', this.onAbort, { once: true });
    this.ctx.conn.write(packet);
    this.sent += packet.length;
    // Tomcat reads the first body packet unasked only when Content-Length > 0; for a chunked body it
    // asks with GET_BODY_CHUNK.
    if (this.req.body.length > 0) this.queueBodyChunk(this.maxChunk);
    else this.armTimer();
    return head;
  }

  onPacket(payload: Buffer): void {
    this.received += payload.length + P.HEADER_SIZE;
    switch (payload[0]) {
      case P.SEND_HEADERS:
        if (this.state !== 'head') throw new AjpProtocolError('SEND_HEADERS after the reply head');
        this.onHead(decodeSendHeaders(payload));
        break;
      case P.SEND_BODY_CHUNK: {
        if (this.state !== 'body') throw new AjpProtocolError('SEND_BODY_CHUNK before SEND_HEADERS');
        const data = decodeBodyChunk(payload);
        // Zero-length chunks are Tomcat's flush markers.
        if (data.length > 0 && !(this.reply as ReplyChannel).push(data)) this.pause();
        break;
      }
      case P.GET_BODY_CHUNK: {
        this.askedForBody = true;
        const requested = decodeGetBodyChunk(payload);
        if (this.bodyFinished && this.bodyOps === 0) {
          // Nothing (more) to send: the empty packet goes at once. Tomcat asks even when a request
          // has no body at all, whenever the servlet reads its input without a Content-Length.
          this.writeOut(EMPTY_BODY_PACKET);
          break;
        }
        this.queueBodyChunk(requested);
        return;
      }
      case P.END_RESPONSE:
        if (this.state !== 'body') throw new AjpProtocolError('END_RESPONSE before SEND_HEADERS');
        this.finish(decodeEndResponse(payload));
        return;
      default:
        throw new AjpProtocolError(`unexpected AJP reply packet type ${payload[0]}`);
    }
    if (this.timer !== null) this.timer.refresh();
  }

  onBroken(err: Error | null): void {
    if (err instanceof AjpProtocolError) {
      this.fail(new TransportError('protocol', err.message));
      return;
    }
    const code = (err as NodeJS.ErrnoException | null)?.code ?? '';
    // Reset, or closed cleanly (err null), before the container said anything: it had closed the
    // pooled connection (keep-alive timeout) and never read this request.
    if (this.ctx.reused && this.received === 0 && !this.askedForBody && (err === null || RESET_CODES.has(code))) {
      this.fail(new StaleConnectionError(code));
      return;
    }
    const why = err ? (code || err.message) : 'connection closed';
    this.fail(
      new TransportError('read', this.state === 'head' ? `backend failed before the reply head: ${why}` : `backend failed during the reply: ${why}`),
    );
  }

  /** ReplySource: the client can take more; undo backpressure. */
  resume(): void {
    if (!this.paused || this.state === 'done') return;
    this.paused = false;
    this.ctx.conn.socket.resume();
    this.armTimer();
  }

  /** ReplySource: the reply was discarded before END_RESPONSE: the connection cannot be reused. */
  discard(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.cleanup();
    this.ctx.conn.destroy();
    this.ctx.release(this.ctx.conn, false);
  }

  private onHead(h: { status: number; message: string; headers: string[] }): void {
    this.state = 'body';
    this.reply = new ReplyChannel(this);
    this.resolveHead({
      status: h.status,
      statusMessage: h.message,
      headers: h.headers,
      body: this.reply,
      bytesReceived: () => this.received,
      bytesSent: () => this.sent,
    });
  }

  private pause(): void {
    this.paused = true;
    this.ctx.conn.socket.pause();
    this.disarmTimer();
  }

  private finish(reuse: boolean): void {
    this.state = 'done';
    // A body packet still owed means the two sides disagree about the body: do not reuse.
    const reusable = reuse && this.bodyOps === 0;
    this.cleanup();
    this.ctx.conn.detach();
    this.ctx.release(this.ctx.conn, reusable);
    (this.reply as ReplyChannel).end();
  }

  private fail(err: TransportError | StaleConnectionError): void {
    if (this.state === 'done') return;
    const before = this.state === 'head';
    this.state = 'done';
    this.cleanup();
    this.ctx.conn.destroy();
    this.ctx.release(this.ctx.conn, false);
    if (before) this.rejectHead(err);
    else (this.reply as ReplyChannel).fail(err as TransportError);
  }

  private cleanup(): void {
    this.disarmTimer();
    this.req.signal.removeEventListener('abort', this.onAbort);
    this.source?.dispose();
    if (this.paused) this.ctx.conn.socket.resume();
  }

  private armTimer(): void {
    const ms = this.req.replyTimeoutMs;
    if (ms <= 0 || this.state === 'done' || this.paused || this.bodyOps > 0) return;
    if (this.timer !== null) this.timer.refresh();
    else this.timer = setTimeout(() => this.fail(new TransportError('reply_timeout', `no reply packet within ${ms} ms`)), ms);
  }

  private disarmTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private queueBodyChunk(requested: number): void {
    this.bodyOps++;
    this.disarmTimer();
    this.bodyChain = this.bodyChain
      .then(() => this.sendBodyChunk(requested))
      .then(
        () => {
          this.bodyOps--;
          this.armTimer();
        },
        (err: unknown) => {
          const msg = err instanceof Error ? err.message : String(err);
          this.fail(err instanceof TransportError ? err : new TransportError('client_error', `reading the request body failed: ${msg}`));
        },
      );
  }

  private async sendBodyChunk(requested: number): Promise<void> {
    if (this.state === 'done') return;
    const length = this.req.body.length;
    const left = length >= 0 ? length - this.bodySent : Infinity;
    const max = Math.min(requested, this.maxChunk, left);
    if (this.bodyFinished || max <= 0 || this.source === null) {
      this.bodyFinished = true;
      this.writeOut(EMPTY_BODY_PACKET);
      return;
    }
    const data = await this.source.take(max);
    // The exchange may have ended (failure, abort) while we waited for the client.
    if ((this.state as State) === 'done') return;
    if (data === null) {
      if (length >= 0) throw new TransportError('client_error', `client sent ${this.bodySent} of ${length} body bytes`);
      this.bodyFinished = true;
      this.writeOut(EMPTY_BODY_PACKET);
      return;
    }
    this.bodySent += data.length;
    const socket = this.ctx.conn.socket;
    socket.cork();
    this.writeOut(bodyChunkHeader(data.length));
    this.writeOut(data);
    socket.uncork();
  }

  private writeOut(b: Buffer): void {
    this.ctx.conn.write(b);
    this.sent += b.length;
  }
}
