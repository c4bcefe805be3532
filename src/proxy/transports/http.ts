/**
 * HTTP/1.1 members (`type=http`): keep-alive connections of our own (http1/connection.ts), one
 * request at a time on each, the head written as one string, the reply parsed by Node's llhttp
 * (http1/response-parser.ts) and pushed straight into the data path's ReplyChannel. This replaced
 * undici, whose generic client machinery was the largest single item of the proxy's CPU per request
 * (about a fifth of it; README "Performance"); what undici did for us is here: a bound on connections (SlotGate), idle
 * expiry, reply timeouts, request bodies streamed with backpressure (chunked when their length is
 * unknown), one transparent retry on a stale keep-alive connection, refusal of requests that cannot
 * be written safely.
 */
import type { Readable } from 'node:stream';
import type { MemberConfig } from '../../config/model.js';
import { ACTIVATION_HEADER, ROUTE_HEADER, pushSslHeaders } from '../headers.js';
import { TransportError, isLocalResourceError, type BackendResponse, type ForwardRequest, type Transport } from '../transport.js';
import type { ConnectOptions } from './connect.js';
import { Http1Connection, parseProblem, type ExchangeListener } from './http1/connection.js';
import { ReplyChannel } from './reply-channel.js';
import { SlotGate } from './slot-gate.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** RFC 9110 token (method, header name). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a header value may hold (no CR, LF, NUL or other controls but HTAB). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** What a request target may hold on the wire. */
const BAD_TARGET = /[^\x21-\x7e\x80-\xff]/;

/** The connect timeout when the member sets no socket_connect_timeout. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How long an idle connection is kept when the member sets no connection_pool_timeout. */
const DEFAULT_IDLE_MS = 4_000;
/** A backend's `Keep-Alive: timeout=N` is cut by this much: its close must not cross our reuse. */
const KEEP_ALIVE_MARGIN_MS = 1_000;
/** How often idle connections past their time are closed. */
const SWEEP_MS = 1_000;


/**
 * The request head as written to the member: request line, the client's headers as the data path
 * prepared them, ours for this attempt; null when something in it cannot be written safely.
 */
function requestHead(req: ForwardRequest, hostHeader: string): string | null {
  if (!TOKEN.test(req.method) || req.url.length === 0 || BAD_TARGET.test(req.url) || BAD_VALUE.test(req.route)) return null;
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
  const h = req.headers;
  const check = !req.headersChecked;
  let host = false;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i];
    const value = h[i + 1];
    if (check && (!TOKEN.test(name) || BAD_VALUE.test(value))) return null;
    if (name.length === 4 && name.toLowerCase() === 'host') host = true;
    head += `${name}: ${value}\r\n`;
  }
  // An HTTP/1.0 client may send none; HTTP/1.1 requires one.
  if (!host) head += `host: ${hostHeader}\r\n`;
  head += `${ACTIVATION_HEADER}: ${req.activation}\r\n`;
  if (req.route) head += `${ROUTE_HEADER}: ${req.route}\r\n`;
  if (req.tls !== null) {
    const ssl: string[] = [];
    pushSslHeaders(ssl, req.tls);
    for (let i = 0; i < ssl.length; i += 2) head += `${ssl[i]}: ${ssl[i + 1]}\r\n`;
  }
  // Unknown length (a chunked client body): chunked to the member too.
  return req.body.length < 0 ? `${head}transfer-encoding: chunked\r\n\r\n` : `${head}\r\n`;
}

/** The backend's `Keep-Alive: timeout=N` in ms, or -1. */
function keepAliveHint(headers: readonly string[]): number {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].length !== 10 || headers[i].toLowerCase() !== 'keep-alive') continue;
    const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(headers[i + 1]);
    if (m !== null) return Number(m[1]) * 1000;
  }
  return -1;
}

/** One member's keep-alive connections: idle ones reused most-recent-first, closed when past their time. */
class Http1Pool {
  private readonly idle: Http1Connection[] = [];
  /** Sockets open (idle or carrying a request). */
  open = 0;
  /** Connections carrying a request. */
  inUse = 0;
  /** No connection is reused any more (retired or closed): each closes when its request ends. */
  retired = false;
  private readonly sweeper: NodeJS.Timeout;
  private onEmpty: (() => void) | null = null;
  /** An idle connection the backend closed (or spoke on) leaves the pool; one function for all. */
  private readonly dropIdle = (conn: Http1Connection): void => {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.closeOne(conn);
  };

  constructor(
    readonly connect: ConnectOptions,
    /** ms an idle connection is kept. */
    private readonly idleMs: number,
  ) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), SWEEP_MS);
    this.sweeper.unref();
  }

  /** The most recently used idle connection still good, or null. */
  take(): Http1Connection | null {
    const now = Date.now();
    for (;;) {
      const conn = this.idle.pop();
      if (conn === undefined) return null;
      conn.onIdleBroken = null;
      if (conn.broken || conn.idleUntilMs <= now) {
        this.closeOne(conn);
        continue;
      }
      this.inUse++;
      return conn;
    }
  }

  /** A fresh connection, counted in use. */
  openOne(done: (err: TransportError | null, conn: Http1Connection | null) => void): void {
    Http1Connection.open(this.connect, (err, conn) => {
      if (conn !== null) {
        this.open++;
        this.inUse++;
      }
      done(err, conn);
    });
  }

  /** A request is over on `conn`: park it for reuse (for `keepMs` at most) or close it. */
  release(conn: Http1Connection, reusable: boolean, keepMs: number): void {
    this.inUse--;
    conn.detach();
    const ms = keepMs < 0 ? this.idleMs : Math.min(this.idleMs, keepMs - KEEP_ALIVE_MARGIN_MS);
    if (!reusable || conn.broken || this.retired || ms <= 0) {
      this.closeOne(conn);
      return;
    }
    conn.idleUntilMs = Date.now() + ms;
    conn.onIdleBroken = this.dropIdle;
    this.idle.push(conn);
  }

  /** No more reuse: idle connections close now, the others when their requests end. */
  retire(): void {
    this.retired = true;
    clearInterval(this.sweeper);
    for (const conn of this.idle.splice(0)) this.closeOne(conn);
  }

  /** Resolves once no connection carries a request any more. */
  drained(): Promise<void> {
    if (this.inUse === 0) return Promise.resolve();
    return new Promise((resolve) => (this.onEmpty = resolve));
  }

  /** A connection that was counted open goes away. */
  closeOne(conn: Http1Connection): void {
    conn.destroy();
    this.open--;
    if (this.inUse === 0 && this.onEmpty !== null) {
      const f = this.onEmpty;
      this.onEmpty = null;
      f();
    }
  }

  private sweep(now: number): void {
    // Oldest at the front.
    while (this.idle.length > 0 && this.idle[0].idleUntilMs <= now) this.closeOne(this.idle.shift()!);
  }
}

/**
 * One request on one connection: the head and body written, the reply's head resolved as a
 * BackendResponse whose body streams through a ReplyChannel; settles exactly once, and hands the
 * connection and the pool slot back exactly once.
 */
class Exchange implements ExchangeListener {
  private received = 0;
  private channel: ReplyChannel | null = null;
  private finished = false;
  /** The whole request went out (a reply that ends before it leaves the connection unusable). */
  private requestSent = false;
  private keepAlive = false;
  private keepMs = -1;
  private timer: NodeJS.Timeout | null = null;
  private bodyStream: Readable | null = null;
  private readonly onAbort = (): void => this.fail(new TransportError('client_error', 'client went away'));

  constructor(
    private readonly pool: Http1Pool,
    private readonly conn: Http1Connection,
    private readonly gate: SlotGate,
    private readonly req: ForwardRequest,
    private readonly resolve: (r: BackendResponse) => void,
    private readonly reject: (e: TransportError) => void,
  ) {}

  start(head: string, body: Readable | null): void {
    const { req, conn } = this;
    if (req.signal.aborted) {
      this.fail(new TransportError('client_error', 'client went away', true));
      return;
    }
    req.signal.addEventListener('abort', this.onAbort);
    conn.attach(this, req.method === 'HEAD');
    if (conn.broken) return; // attach() reports it
    if (req.replyTimeoutMs > 0) this.timer = setTimeout(() => this.fail(new TransportError('reply_timeout', 'reply timeout')), req.replyTimeoutMs);
    conn.socket.write(head, 'latin1');
    if (body === null) this.requestSent = true;
    else this.sendBody(body);
  }

  // ---- the reply, from the parser

  head(status: number, statusText: string, headers: string[], keepAlive: boolean): void {
    this.timer?.refresh();
    this.keepAlive = keepAlive;
    if (keepAlive) this.keepMs = keepAliveHint(headers);
    const channel = new ReplyChannel(this);
    this.channel = channel;
    this.resolve({
      status,
      statusMessage: statusText,
      headers,
      body: channel,
      bytesReceived: () => this.received,
      bytesSent: () => this.req.body.bytesRead,
    });
  }

  body(chunk: Buffer): void {
    this.received += chunk.length;
    this.timer?.refresh();
    if (this.channel !== null && !this.channel.push(chunk)) this.conn.socket.pause();
  }

  complete(): void {
    if (this.finished) return;
    this.end(this.keepAlive && this.requestSent);
    this.channel?.end();
  }

  broken(err: Error | null, parse: boolean): void {
    if (parse && err !== null) this.fail(new TransportError('protocol', `malformed reply: ${parseProblem(err)}`));
    else this.fail(socketFailure(err, this.channel !== null));
  }

  // ---- ReplySource, from the data path

  resume(): void {
    if (!this.finished) this.conn.socket.resume();
  }

  discard(): void {
    if (!this.finished) this.fail(new TransportError('client_error', 'reply discarded'));
  }

  // ----

  private sendBody(body: Readable): void {
    const { conn, req } = this;
    const socket = conn.socket;
    const chunked = req.body.length < 0;
    let sent = 0;
    this.bodyStream = body;
    const onDrain = (): void => {
      body.resume();
    };
    body.on('data', (chunk: Buffer) => {
      if (this.finished) return;
      sent += chunk.length;
      this.timer?.refresh();
      let room: boolean;
      if (chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        room = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else {
        room = socket.write(chunk);
      }
      if (!room) {
        body.pause();
        socket.once('drain', onDrain);
      }
    });
    body.on('end', () => {
      if (this.finished) return;
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      else if (sent < req.body.length) {
        this.fail(new TransportError('client_error', 'client sent a short body'));
        return;
      }
      this.requestSent = true;
    });
    body.on('error', (err) => this.fail(err instanceof TransportError ? err : new TransportError('client_error', `request body failed: ${err.message}`)));
  }

  /** Over, one way or the other: timer, listeners, connection and slot. */
  private end(reusable: boolean): void {
    this.finished = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.req.signal.removeEventListener('abort', this.onAbort);
    const body = this.bodyStream;
    if (body !== null) {
      body.removeAllListeners('data');
      body.removeAllListeners('end');
      body.pause();
    }
    this.pool.release(this.conn, reusable, this.keepMs);
    this.gate.release();
  }

  private fail(err: TransportError): void {
    if (this.finished) return;
    this.end(false);
    if (this.channel === null) this.reject(err);
    else this.channel.fail(err);
  }
}

/** A socket error or EOF under a request, in the routing core's terms. */
function socketFailure(err: Error | null, headWasSeen: boolean): TransportError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (isLocalResourceError(code)) return new TransportError('local', `balancer out of resources: ${code}`, true);
  const why = err === null ? 'connection closed' : (code ?? err.message);
  return new TransportError('read', headWasSeen ? `reply broken: ${why}` : `connection closed before the reply: ${why}`);
}

export function createHttpTransport(member: MemberConfig): Transport {
  const connectTimeoutMs = member.socketConnectTimeoutMs > 0 ? member.socketConnectTimeoutMs : DEFAULT_CONNECT_TIMEOUT_MS;
  // Idle sockets close after connection_pool_timeout (mod_jk closes them at maintenance), or
  // sooner when the backend's Keep-Alive says it closes them sooner.
  const idleMs = member.connectionPoolTimeoutSec > 0 ? member.connectionPoolTimeoutSec * 1000 : DEFAULT_IDLE_MS;
  const pool = new Http1Pool(
    { host: member.host, port: member.port, tls: member.tls, source: member.source, connectTimeoutMs, keepalive: member.socketKeepalive },
    idleMs,
  );
  const defaultPort = member.tls ? 443 : 80;
  const hostHeader = `${member.host.includes(':') ? `[${member.host}]` : member.host}${member.port === defaultPort ? '' : `:${member.port}`}`;
  const gate = new SlotGate(member.connectionPoolSize > 0 ? member.connectionPoolSize : 0, member.connectionAcquireTimeoutMs, member.name);

  /** One attempt of `req` on a slot already held; settles through the exchange. */
  function dispatch(req: ForwardRequest, resolve: (r: BackendResponse) => void, reject: (e: TransportError) => void): void {
    const head = requestHead(req, hostHeader);
    if (head === null) {
      gate.release();
      // The request's fault, not the member's: nothing was sent.
      reject(new TransportError('client_error', 'request not forwardable: invalid characters in its method, target or headers', true, 400));
      return;
    }
    const body = req.body.length === 0 ? null : req.body.open();
    if (req.body.length !== 0 && body === null) {
      gate.release();
      reject(new TransportError('read', 'request body can no longer be replayed'));
      return;
    }
    if (pool.retired) {
      gate.release();
      reject(new TransportError('connect', 'transport closed', true));
      return;
    }
    const idle = pool.take();
    if (idle !== null) {
      new Exchange(pool, idle, gate, req, resolve, reject).start(head, body);
      return;
    }
    pool.openOne((err, conn) => {
      if (conn === null) {
        gate.release();
        reject(err!);
      } else if (req.signal.aborted || pool.retired) {
        pool.release(conn, !pool.retired, -1);
        gate.release();
        reject(new TransportError('client_error', 'client went away', true));
      } else {
        new Exchange(pool, conn, gate, req, resolve, reject).start(head, body);
      }
    });
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
      return pool.open;
    },
    maintain(): void {
      // Idle connections are swept every second (Http1Pool).
    },
    retire(): void {
      pool.retire();
    },
    async close(): Promise<void> {
      pool.retire();
      await pool.drained();
    },
  };
}
