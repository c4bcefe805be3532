/**
 * HTTP/1.1 members (`type=http`): an undici Pool per member, driven through `dispatch` with our
 * own handler so the reply streams to the client with backpressure and no extra copies.
 */
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { MemberConfig } from '../../config/model.js';
import { ACTIVATION_HEADER, ROUTE_HEADER } from '../headers.js';
import { TransportError, isLocalResourceError, type BackendResponse, type ForwardRequest, type Transport } from '../transport.js';
import { SlotGate } from './slot-gate.js';

/** undici error codes meaning "the connection never carried this request". */
const CONNECT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
/** The peer closed or reset a connection we were using. */
const SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function classifyHttpError(err: unknown, headWasSeen: boolean): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const msg = e.message ?? String(err);
  if (isLocalResourceError(code)) return new TransportError('local', `balancer out of resources: ${code}`, true);
  // undici refused the request itself before sending it: the request's fault, not the member's
  // (request-target.ts refuses what we know of first; this catches what it does not).
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') return new TransportError('client_error', `request not forwardable: ${msg}`, true, 400);
  if (CONNECT_CODES.has(code)) return new TransportError('connect', `connect failed: ${code}`, true);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new TransportError('reply_timeout', 'reply timeout');
  if (code === 'UND_ERR_ABORTED') return new TransportError('client_error', 'client went away');
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return new TransportError('client_error', 'client sent a short body');
  if (code.startsWith('HPE_')) return new TransportError('protocol', `malformed reply: ${msg}`);
  if (SOCKET_CODES.has(code)) return new TransportError('read', headWasSeen ? `reply broken: ${msg}` : `connection closed before the reply: ${msg}`);
  return new TransportError('read', msg);
}

function flattenHeaders(h: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.push(name, one);
    else out.push(name, v);
  }
  return out;
}

/** The reply body: fed by undici, paused while the client cannot keep up. */
class ReplyBody extends Readable {
  controller: Dispatcher.DispatchController | null = null;
  override _read(): void {
    if (this.controller?.paused) this.controller.resume();
  }
  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    // Destroyed before the end (discarded reply, client gone): abort so undici drops the socket.
    if (this.controller !== null && !this.readableEnded && !this.controller.aborted) {
      this.controller.abort(err ?? new Error('reply discarded'));
    }
    cb(err);
  }
}

class AttemptHandler implements Dispatcher.DispatchHandler {
  private body: ReplyBody | null = null;
  received = 0;
  private released = false;

  private controller: Dispatcher.DispatchController | null = null;
  private readonly onAbort = (): void => {
    this.controller?.abort(new TransportError('client_error', 'client went away'));
  };

  constructor(
    private readonly resolve: (r: BackendResponse) => void,
    private readonly reject: (e: TransportError) => void,
    private readonly sent: () => number,
    private readonly signal: AbortSignal,
    private readonly gate: SlotGate,
  ) {}

  /** The attempt is over for the pool: its slot goes to the next request. */
  private done(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    if (this.released) return;
    this.released = true;
    this.gate.release();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(new TransportError('client_error', 'client went away'));
    else this.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx: Node answers 100-continue itself; informational replies are not relayed
    const body = new ReplyBody();
    body.controller = controller;
    this.body = body;
    this.resolve({
      status: statusCode,
      statusMessage: statusMessage ?? '',
      headers: flattenHeaders(headers),
      body,
      bytesReceived: () => this.received,
      bytesSent: this.sent,
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.received += chunk.length;
    if (this.body !== null && !this.body.push(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.done();
    this.body?.push(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.done();
    const err = classifyHttpError(error, this.body !== null);
    if (this.body === null) this.reject(err);
    else if (!this.body.destroyed) this.body.destroy(err);
  }
}

export interface HttpTransportOptions {
  /** Override for tests: undici connect timeout when the member sets none (ms). */
  readonly defaultConnectTimeoutMs?: number;
}

export function createHttpTransport(member: MemberConfig, opts: HttpTransportOptions = {}): Transport {
  const origin = `${member.tls ? 'https' : 'http'}://${member.host.includes(':') ? `[${member.host}]` : member.host}:${member.port}`;
  const connectTimeout = member.socketConnectTimeoutMs > 0 ? member.socketConnectTimeoutMs : (opts.defaultConnectTimeoutMs ?? 10_000);
  const pool = new Pool(origin, {
    connections: member.connectionPoolSize > 0 ? member.connectionPoolSize : null,
    pipelining: 1,
    // Idle sockets close after connection_pool_timeout (mod_jk closes them at maintenance).
    keepAliveTimeout: member.connectionPoolTimeoutSec > 0 ? member.connectionPoolTimeoutSec * 1000 : 4_000,
    connect: {
      timeout: connectTimeout,
      keepAlive: member.socketKeepalive,
      ...(member.source ? { localAddress: member.source } : {}),
    },
    // Timeouts are set per request from reply_timeout; none at pool level.
    headersTimeout: 0,
    bodyTimeout: 0,
  });

  const gate = new SlotGate(member.connectionPoolSize > 0 ? member.connectionPoolSize : 0, member.connectionAcquireTimeoutMs, member.name);

  async function dispatchOnce(req: ForwardRequest): Promise<BackendResponse> {
    const waiting = gate.acquire(req.signal);
    if (waiting !== null) await waiting;
    return new Promise<BackendResponse>((resolve, reject) => {
      const body = req.body.length === 0 ? null : req.body.open();
      if (req.body.length !== 0 && body === null) {
        gate.release();
        reject(new TransportError('read', 'request body can no longer be replayed'));
        return;
      }
      const headers = req.headers.slice();
      headers.push(ACTIVATION_HEADER, req.activation);
      if (req.route) headers.push(ROUTE_HEADER, req.route);
      const handler = new AttemptHandler(resolve, reject, () => req.body.bytesRead, req.signal, gate);
      pool.dispatch(
        {
          origin,
          path: req.url,
          method: req.method,
          headers,
          body,
          headersTimeout: req.replyTimeoutMs,
          bodyTimeout: req.replyTimeoutMs,
          // Requests with a body must not be pipelined/reused mid-stream by undici.
          blocking: true,
        },
        handler,
      );
    });
  }

  return {
    member,
    async forward(req: ForwardRequest): Promise<BackendResponse> {
      try {
        return await dispatchOnce(req);
      } catch (err) {
        const te = err as TransportError;
        // A pooled keep-alive socket the backend closed (Tomcat: maxKeepAliveRequests, keepAliveTimeout)
        // fails before anything of the request was processed: retry once on another connection.
        const replaySafe = req.body.length === 0 || req.body.bytesRead === 0;
        if (te.kind === 'read' && replaySafe && IDEMPOTENT.has(req.method) && !req.signal.aborted) {
          return await dispatchOnce(req);
        }
        throw te;
      }
    },
    get connected(): number {
      return pool.stats.connected;
    },
    maintain(): void {
      // undici closes idle sockets by itself after keepAliveTimeout.
    },
    async close(): Promise<void> {
      await pool.close();
    },
  };
}
