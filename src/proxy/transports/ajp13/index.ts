/**
 * The AJP13 transport (issue 8): one per ajp13 member, with its own connection pool and CPing/CPong
 * probes (docs/ajp13.md), reporting failures in the routing core's vocabulary
 * (docs/load-balancing.md#attempt-outcomes).
 */
import type { Readable } from 'node:stream';
import type { MemberConfig } from '../../../config/model.js';
import { TransportError, type BackendResponse, type ForwardRequest, type Transport } from '../../transport.js';
import { encodeForwardRequest, PacketTooLargeError, type ForwardRequestFields } from './codec.js';
import type { AjpConnection } from './connection.js';
import { Exchange, StaleConnectionError } from './exchange.js';
import { ConnectionPool } from './pool.js';

export interface Ajp13TransportOptions {
  /** The clock maintain(nowMs) is measured against (default Date.now); idle ages use it. */
  readonly now?: () => number;
}

export interface Ajp13Transport extends Transport {
  /** Connections currently carrying a request (or a probe). */
  readonly busy: number;
}

export function createAjp13Transport(member: MemberConfig, opts: Ajp13TransportOptions = {}): Ajp13Transport {
  return new Ajp13TransportImpl(member, opts.now ?? Date.now);
}

class Ajp13TransportImpl implements Ajp13Transport {
  private readonly pool: ConnectionPool;
  /** Gives a connection back; one function for every exchange. */
  private readonly releaseConn = (conn: AjpConnection, reusable: boolean): void => this.pool.release(conn, reusable);
  /** Encoding buffer reused by every forward request (the encoder copies the result out). */
  private readonly scratch: Buffer;

  constructor(
    readonly member: MemberConfig,
    now: () => number,
  ) {
    this.pool = new ConnectionPool(member, now);
    this.scratch = Buffer.allocUnsafe(member.maxPacketSize);
  }

  get connected(): number {
    return this.pool.connected;
  }

  get busy(): number {
    return this.pool.busy;
  }

  maintain(nowMs: number): void {
    this.pool.maintain(nowMs);
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  /** Replaced by a transport with newer settings: requests in flight finish, then their connections close. */
  retire(): void {
    this.pool.retire();
  }

  async forward(req: ForwardRequest): Promise<BackendResponse> {
    if (req.signal.aborted) throw new TransportError('client_error', 'client went away', true);
    if (this.member.port === 0) throw new TransportError('connect', `member ${this.member.name} has port 0`, true);
    let packet: Buffer;
    try {
      packet = encodeForwardRequest(this.fields(req), this.member.maxPacketSize, this.scratch);
    } catch (err) {
      if (err instanceof PacketTooLargeError) throw new TransportError('too_large', err.message, true);
      throw err;
    }
    let body = this.openBody(req);
    // One transparent retry: a pooled connection that turns out stale before the container read
    // anything of this request is replaced by a fresh one.
    let fresh = false;
    for (;;) {
      // The usual case, an idle pooled connection and no CPing to make, goes without an await.
      const idle = fresh ? null : this.pool.takeIdle();
      const { conn, reused } = idle !== null ? { conn: idle, reused: true } : await this.pool.acquire(fresh, req.signal);
      try {
        const check = this.checkBeforeSend(conn, reused);
        if (check !== null) await check;
      } catch (err) {
        this.pool.release(conn, false);
        if (reused && !fresh) {
          fresh = true;
          continue;
        }
        throw err;
      }
      const exchange = new Exchange({ conn, reused, maxPacketSize: this.member.maxPacketSize, body, release: this.releaseConn }, req);
      try {
        return await exchange.run(packet);
      } catch (err) {
        if (!(err instanceof StaleConnectionError)) throw err;
        const again = fresh ? null : this.reopenBody(req);
        if (again === null) throw new TransportError('read', err.message);
        body = again.stream;
        fresh = true;
      }
    }
  }

  /**
   * Before a request goes out: the connection must still be alive, and the CPing before each
   * request (prepost) must succeed — on a fresh connection only when no CPing followed the connect.
   * Null when there is nothing to wait for (no CPing): the usual case costs no promise.
   */
  private checkBeforeSend(conn: AjpConnection, reused: boolean): Promise<void> | null {
    const ping = this.member.ping;
    // No wait for a FIN still in flight (an event-loop turn per request): a connection the
    // container closed under us fails before any reply byte and is retried as stale (exchange.ts).
    if (reused && conn.broken) throw new TransportError('connect', 'pooled connection closed by the backend', true);
    const cping = ping.prepostTimeoutMs > 0 && (reused || ping.connectTimeoutMs <= 0);
    if (!cping) {
      if (conn.broken) throw new TransportError('connect', 'connection broken by the backend', true);
      return null;
    }
    return conn.cping(ping.prepostTimeoutMs).then(() => {
      // Bytes that followed the CPong in the same read break the connection before we may use it.
      if (conn.broken) throw new TransportError('connect', 'connection broken by the backend after CPong', true);
    });
  }

  private openBody(req: ForwardRequest): Readable | null {
    if (req.body.length === 0) return null;
    const stream = req.body.open();
    if (stream === null) throw new TransportError('client_error', 'the request body can no longer be replayed', true);
    return stream;
  }

  private reopenBody(req: ForwardRequest): { stream: Readable | null } | null {
    if (req.body.length === 0) return { stream: null };
    const stream = req.body.open();
    return stream === null ? null : { stream };
  }

  private fields(req: ForwardRequest): ForwardRequestFields {
    const q = req.url.indexOf('?');
    return {
      method: req.method,
      protocol: `HTTP/${req.httpVersion}`,
      uri: q < 0 ? req.url : req.url.slice(0, q),
      query: q < 0 ? null : req.url.slice(q + 1),
      remoteAddr: req.remoteAddress,
      remoteHost: req.remoteAddress,
      remotePort: req.remotePort,
      serverName: req.serverName,
      serverPort: req.serverPort,
      secure: req.secure,
      headers: withContentLength(req.headers, req.body.length),
      route: req.route,
      secret: this.member.secret,
      activation: req.activation,
      tls: req.tls,
    };
  }
}

/**
 * Tomcat decides from content-length whether a first body packet follows, so it must state the body
 * length we actually send: replaced by body.length when known and > 0, dropped for a chunked body
 * (Tomcat then asks for the body with GET_BODY_CHUNK until an empty packet).
 */
function withContentLength(headers: readonly string[], length: number): readonly string[] {
  let found = -1;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].length === 14 && headers[i].toLowerCase() === 'content-length') {
      found = i;
      break;
    }
  }
  if (found < 0 && length <= 0) return headers;
  if (found >= 0 && length >= 0 && headers[found + 1] === String(length)) return headers;
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].toLowerCase() !== 'content-length') out.push(headers[i], headers[i + 1]);
  }
  if (length > 0 || (length === 0 && found >= 0)) out.push('content-length', String(length));
  return out;
}
