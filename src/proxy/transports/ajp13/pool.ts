/**
 * The connection pool of one AJP13 member (docs/ajp13.md#connection-pool): at most
 * connection_pool_size connections, idle ones reused most-recent-first, closed after
 * connection_pool_timeout at maintenance (never below connection_pool_minsize), probed with CPing
 * every connection_ping_interval; a request finding every connection busy waits up to
 * connection_acquire_timeout for one, else the member is busy.
 */
import type { MemberConfig } from '../../../config/model.js';
import { TransportError, type ClientSignal } from '../../transport.js';
import type { ConnectOptions } from '../connect.js';
import { AjpConnection } from './connection.js';

export interface Acquired {
  readonly conn: AjpConnection;
  /** It carried earlier requests (it may have gone stale since). */
  readonly reused: boolean;
}

interface Waiter {
  /** Handed an idle connection, or null meaning "a slot is free: open one". */
  grant(conn: AjpConnection | null): void;
}

const clientGone = (): TransportError => new TransportError('client_error', 'client went away', true);

export class ConnectionPool {
  private readonly idle: AjpConnection[] = [];
  private readonly waiters: Waiter[] = [];
  /** Connections open, opening, or being probed: what counts against the size limit. */
  private slots = 0;
  private readonly inUse = new Set<AjpConnection>();
  private closed = false;
  /** Replaced by a newer pool: connections close as their requests end (retire()). */
  private retired = false;
  private readonly maxSize: number;
  private readonly connectOptions: ConnectOptions;

  constructor(
    private readonly member: MemberConfig,
    private readonly now: () => number,
  ) {
    this.maxSize = Math.max(1, member.connectionPoolSize);
    this.connectOptions = {
      host: member.host,
      port: member.port,
      source: member.source,
      connectTimeoutMs: member.socketConnectTimeoutMs,
      keepalive: member.socketKeepalive,
    };
  }

  /** Open sockets (idle + in use). */
  get connected(): number {
    return this.idle.length + this.inUse.size;
  }

  get busy(): number {
    return this.inUse.size;
  }

  /**
   * A connection for one request: an idle one unless `fresh`, else a new one (with the CPing after
   * connect when configured). Rejects with TransportError 'busy' or 'connect', or 'client_error'
   * when `signal` aborts while it waits for a busy pool.
   */
  async acquire(fresh: boolean, signal: ClientSignal): Promise<Acquired> {
    if (this.closed) throw new TransportError('connect', 'transport closed', true);
    if (!fresh) {
      const conn = this.takeIdle();
      if (conn !== null) return { conn, reused: true };
    } else if (this.slots >= this.maxSize && this.idle.length > 0) {
      // A fresh connection is wanted but the pool is full: the oldest idle one gives up its slot.
      const oldest = this.idle.shift() as AjpConnection;
      oldest.onIdleBroken = null;
      oldest.destroy();
      return { conn: await this.openInSlot(), reused: false };
    }
    if (this.slots < this.maxSize) {
      this.slots++;
      return { conn: await this.openInSlot(), reused: false };
    }
    const granted = await this.wait(signal);
    if (granted !== null) return { conn: granted, reused: true };
    return { conn: await this.openInSlot(), reused: false };
  }

  /** Give a connection back after a request; only a cleanly finished one is reused. */
  release(conn: AjpConnection, reusable: boolean): void {
    this.inUse.delete(conn);
    conn.lastUsedMs = this.now();
    if (!reusable || conn.broken || this.closed) {
      conn.destroy();
      this.slots--;
      this.grantSlot();
      return;
    }
    const w = this.waiters.shift();
    if (w !== undefined) {
      this.inUse.add(conn);
      w.grant(conn);
      return;
    }
    if (this.retired) {
      conn.destroy();
      this.slots--;
      return;
    }
    this.parkIdle(conn);
  }

  /** Housekeeping: close idle connections past connection_pool_timeout, probe idle ones with CPing. */
  maintain(nowMs: number): void {
    const m = this.member;
    const idleLimitMs = m.connectionPoolTimeoutSec * 1000;
    if (idleLimitMs > 0) {
      // Oldest first (the front of the list), keeping connection_pool_minsize open.
      while (this.idle.length > 0 && this.connected > m.connectionPoolMinsize && nowMs - this.idle[0].lastUsedMs > idleLimitMs) {
        this.drop(this.idle.shift() as AjpConnection);
      }
    }
    const probeMs = m.ping.intervalSec * 1000;
    if (probeMs > 0 && m.ping.pingTimeoutMs > 0) {
      for (const conn of this.idle.filter((c) => nowMs - c.lastUsedMs >= probeMs)) this.probe(conn);
    }
  }

  /**
   * Another pool with newer settings takes the member's new requests: idle connections close now,
   * each connection in use when its request ends (or after the requests already waiting here had it).
   */
  retire(): void {
    this.retired = true;
    for (const conn of this.idle.splice(0)) {
      conn.onIdleBroken = null;
      conn.destroy();
      this.slots--;
    }
  }

  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.destroy();
    for (const conn of this.inUse) conn.abort(new Error('transport closed'));
    for (const w of this.waiters.splice(0)) w.grant(null);
  }

  /** The most recently used idle connection (now in use), or null: acquire() without the wait. */
  takeIdle(): AjpConnection | null {
    for (;;) {
      const conn = this.idle.pop();
      if (conn === undefined) return null;
      if (conn.broken) {
        this.drop(conn);
        continue;
      }
      conn.onIdleBroken = null;
      this.inUse.add(conn);
      return conn;
    }
  }

  private parkIdle(conn: AjpConnection): void {
    conn.onIdleBroken = () => {
      const i = this.idle.indexOf(conn);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.slots--;
        this.grantSlot();
      }
    };
    this.idle.push(conn);
  }

  private drop(conn: AjpConnection): void {
    conn.onIdleBroken = null;
    conn.destroy();
    this.slots--;
    this.grantSlot();
  }

  /** Open a connection in a slot already counted for it. */
  private async openInSlot(): Promise<AjpConnection> {
    try {
      const conn = await AjpConnection.open(this.connectOptions, this.now());
      const pingMs = this.member.ping.connectTimeoutMs;
      if (pingMs > 0) await conn.cping(pingMs);
      if (this.closed) {
        conn.destroy();
        throw new TransportError('connect', 'transport closed', true);
      }
      this.inUse.add(conn);
      return conn;
    } catch (err) {
      this.slots--;
      this.grantSlot();
      throw err;
    }
  }

  private wait(signal: ClientSignal): Promise<AjpConnection | null> {
    const timeoutMs = this.member.connectionAcquireTimeoutMs;
    const busy = (): TransportError =>
      new TransportError('busy', `all ${this.maxSize} connections to ${this.member.name} in use`, true);
    // connection_acquire_timeout=0: one look, no wait (mod_jk would never acquire at all:
    // docs/README.md#mod_jk-quirks-not-reproduced).
    if (timeoutMs <= 0 || this.closed) return Promise.reject(busy());
    if (signal.aborted) return Promise.reject(clientGone());
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      // Timed out or left: out of the queue, so no connection or slot is ever handed to it.
      const giveUp = (err: TransportError): void => {
        settle();
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(err);
      };
      const onAbort = (): void => giveUp(clientGone());
      const waiter: Waiter = {
        grant: (conn) => {
          settle();
          if (this.closed && conn === null) reject(new TransportError('connect', 'transport closed', true));
          else resolve(conn);
        },
      };
      const timer = setTimeout(() => giveUp(busy()), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A slot came free: reserve it for the first waiter, who opens a connection in it. */
  private grantSlot(): void {
    if (this.slots >= this.maxSize || this.closed) return;
    const w = this.waiters.shift();
    if (w === undefined) return;
    this.slots++;
    w.grant(null);
  }

  private probe(conn: AjpConnection): void {
    const i = this.idle.indexOf(conn);
    if (i < 0) return;
    this.idle.splice(i, 1);
    conn.onIdleBroken = null;
    this.inUse.add(conn);
    conn.cping(this.member.ping.pingTimeoutMs).then(
      () => this.release(conn, true),
      () => this.release(conn, false),
    );
  }
}
