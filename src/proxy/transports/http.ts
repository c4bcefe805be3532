/**
 * HTTP/1.1 members (`type=http`): an undici Pool per member, driven through `dispatch` with our
 * own handler so the reply streams to the client with backpressure and no extra copies.
 */
import { Pool, type Dispatcher } from 'undici';
import type { MemberConfig } from '../../config/model.js';
import { ACTIVATION_HEADER, ROUTE_HEADER, pushSslHeaders } from '../headers.js';
import { TransportError, isLocalResourceError, type BackendResponse, type ClientSignal, type ForwardRequest, type Transport } from '../transport.js';
import { ReplyChannel } from './reply-channel.js';
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

/**
 * One attempt on undici's core handler interface (onConnect/onHeaders/onData/onComplete/onError):
 * undici's newer controller interface wraps this very one and parses the reply head into an
 * object we would only flatten again. The reply body goes into a ReplyChannel, itself the
 * attempt's ReplySource.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  received = 0;
  private channel: ReplyChannel | null = null;
  private released = false;
  private abortFn: ((err?: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private readonly onAbort = (): void => {
    this.abortFn?.(new TransportError('client_error', 'client went away'));
  };

  constructor(
    private readonly resolve: (r: BackendResponse) => void,
    private readonly reject: (e: TransportError) => void,
    private readonly req: ForwardRequest,
    private readonly gate: SlotGate,
  ) {
    this.signal = req.signal;
  }

  private readonly signal: ClientSignal;

  /** The attempt is over for the pool: its slot goes to the next request. */
  private done(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    if (this.released) return;
    this.released = true;
    this.gate.release();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.signal.aborted) abort(new TransportError('client_error', 'client went away'));
    else this.signal.addEventListener('abort', this.onAbort);
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx: Node answers 100-continue itself; informational replies are not relayed
    this.resumeFn = resume;
    const headers = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i++) headers[i] = raw[i].toString('latin1');
    const channel = new ReplyChannel(this);
    this.channel = channel;
    this.resolve({
      status: statusCode,
      statusMessage: statusText,
      headers,
      body: channel,
      bytesReceived: () => this.received,
      bytesSent: () => this.req.body.bytesRead,
    });
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.received += chunk.length;
    return this.channel === null || this.channel.push(chunk);
  }

  onComplete(): void {
    this.done();
    this.channel?.end();
  }

  onError(error: Error): void {
    this.done();
    const err = classifyHttpError(error, this.channel !== null);
    if (this.channel === null) this.reject(err);
    else this.channel.fail(err);
  }

  /** ReplySource: the client can take more. */
  resume(): void {
    this.resumeFn?.();
  }

  /** ReplySource: the reply is not wanted (discarded, client gone): undici drops the socket. */
  discard(): void {
    this.abortFn?.(new TransportError('client_error', 'reply discarded'));
  }
}

export interface HttpTransportOptions {
  /** Override for tests: undici connect timeout when the member sets none (ms). */
  readonly defaultConnectTimeoutMs?: number;
}

export function createHttpTransport(member: MemberConfig, opts: HttpTransportOptions = {}): Transport {
  const origin = `${member.tls ? 'https' : 'http'}://${member.host.includes(':') ? `[${member.host}]` : member.host}:${member.port}`;
  const connectTimeout = member.socketConnectTimeoutMs > 0 ? member.socketConnectTimeoutMs : (opts.defaultConnectTimeoutMs ?? 10_000);
  const idleMs = member.connectionPoolTimeoutSec > 0 ? member.connectionPoolTimeoutSec * 1000 : 4_000;
  const pool = new Pool(origin, {
    connections: member.connectionPoolSize > 0 ? member.connectionPoolSize : null,
    pipelining: 1,
    // Idle sockets close after connection_pool_timeout (mod_jk closes them at maintenance), whatever
    // longer idle time a backend's `Keep-Alive: timeout=` offers (undici would take that as is).
    keepAliveTimeout: idleMs,
    keepAliveMaxTimeout: idleMs,
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

  /** One dispatch of `req` on a slot already held; settles through the handler. */
  function dispatch(req: ForwardRequest, resolve: (r: BackendResponse) => void, reject: (e: TransportError) => void): void {
    const body = req.body.length === 0 ? null : req.body.open();
    if (req.body.length !== 0 && body === null) {
      gate.release();
      reject(new TransportError('read', 'request body can no longer be replayed'));
      return;
    }
    const headers = req.headers.slice();
    headers.push(ACTIVATION_HEADER, req.activation);
    if (req.route) headers.push(ROUTE_HEADER, req.route);
    if (req.tls !== null) pushSslHeaders(headers, req.tls);
    pool.dispatch(
      {
        path: req.url,
        method: req.method,
        headers,
        body,
        headersTimeout: req.replyTimeoutMs,
        bodyTimeout: req.replyTimeoutMs,
        // Requests with a body must not be pipelined/reused mid-stream by undici.
        blocking: true,
      },
      new AttemptHandler(resolve, reject, req, gate),
    );
  }

  /** Take a slot (waiting for one if the pool is full), then dispatch. */
  function send(req: ForwardRequest, resolve: (r: BackendResponse) => void, reject: (e: TransportError) => void): void {
    const waiting = gate.acquire(req.signal);
    if (waiting === null) dispatch(req, resolve, reject);
    else waiting.then(() => dispatch(req, resolve, reject), reject);
  }

  return {
    member,
    forward(req: ForwardRequest): Promise<BackendResponse> {
      return new Promise<BackendResponse>((resolve, reject) => {
        send(req, resolve, (err) => {
          // A pooled keep-alive socket the backend closed (Tomcat: maxKeepAliveRequests, keepAliveTimeout)
          // fails before anything of the request was processed: retry once on another connection.
          const replaySafe = req.body.length === 0 || req.body.bytesRead === 0;
          if (err.kind === 'read' && replaySafe && IDEMPOTENT.has(req.method) && !req.signal.aborted) send(req, resolve, reject);
          else reject(err);
        });
      });
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
