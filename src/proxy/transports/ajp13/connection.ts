/**
 * One TCP connection to an AJP13 container. While a request uses it, its packets go to the attached
 * listener; while it idles in the pool, any byte or close from the container marks it broken (a
 * container never speaks unasked, so it is closing or confused) and the pool drops it.
 */
import type { Socket } from 'node:net';
import { TransportError } from '../../transport.js';
import { openSocket, type ConnectOptions } from '../connect.js';
import { CPING_PACKET, PacketSplitter } from './codec.js';
import { CPONG } from './protocol.js';

export interface ConnectionListener {
  onPacket(payload: Buffer): void;
  /** The socket closed, errored, or sent garbage; err is null for a plain EOF. */
  onBroken(err: Error | null): void;
}

export class AjpConnection {
  private readonly splitter = new PacketSplitter();
  private listener: ConnectionListener | null = null;
  /** Set once the socket is no longer usable; never cleared. */
  broken = false;
  /** When it last finished a request or probe (pool clock). */
  lastUsedMs: number;
  /** Called once when the connection breaks while idle (the pool removes it). */
  onIdleBroken: (() => void) | null = null;

  private constructor(
    readonly socket: Socket,
    nowMs: number,
  ) {
    this.lastUsedMs = nowMs;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.markBroken(null));
    socket.on('error', (err) => this.markBroken(err));
    socket.on('close', () => this.markBroken(null));
  }

  /** Open a connection; failures are TransportError('connect', …, nothingSent). */
  static open(o: ConnectOptions, nowMs: number): Promise<AjpConnection> {
    return new Promise((resolve, reject) => {
      openSocket(o, (err, socket) => (socket === null ? reject(err) : resolve(new AjpConnection(socket, nowMs))));
    });
  }

  attach(listener: ConnectionListener): void {
    this.listener = listener;
    // Broken while nobody listened: its next user must hear it, or it would wait forever.
    if (this.broken) {
      queueMicrotask(() => {
        if (this.listener !== listener) return;
        this.listener = null;
        listener.onBroken(null);
      });
    }
  }

  detach(): void {
    this.listener = null;
  }

  write(data: Buffer, cb?: (err?: Error | null) => void): void {
    this.socket.write(data, cb);
  }

  /** Close it as a failure its current user hears about (onBroken), unlike destroy(). */
  abort(reason: Error): void {
    this.markBroken(reason);
  }

  destroy(): void {
    this.broken = true;
    this.listener = null;
    this.socket.destroy();
  }

  /**
   * CPing → CPong within timeoutMs. Failure destroys the connection and rejects with
   * TransportError('connect', …, nothingSent) — a container that does not answer a ping gets no request.
   */
  cping(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.destroy();
        reject(new TransportError('connect', `CPing failed: ${why}`, true));
      };
      const timer = setTimeout(() => fail(`no CPong within ${timeoutMs} ms`), timeoutMs);
      this.attach({
        onPacket: (payload) => {
          if (payload[0] !== CPONG) return fail(`unexpected packet type ${payload[0]}`);
          clearTimeout(timer);
          this.detach();
          resolve();
        },
        onBroken: (err) => fail(err ? err.message : 'connection closed'),
      });
      this.write(CPING_PACKET);
    });
  }

  private onData(chunk: Buffer): void {
    if (this.listener === null) {
      this.markBroken(new Error('unexpected data on an idle AJP connection'));
      return;
    }
    try {
      this.splitter.push(chunk, (payload) => {
        const l = this.listener;
        // A packet after the request ended (or after a CPong) is one nobody asked for.
        if (l === null) throw new Error('unexpected AJP packet on an idle connection');
        l.onPacket(payload);
      });
    } catch (err) {
      this.markBroken(err as Error);
    }
  }

  private markBroken(err: Error | null): void {
    if (this.broken) return;
    this.broken = true;
    this.socket.destroy();
    const l = this.listener;
    this.listener = null;
    if (l !== null) l.onBroken(err);
    else this.onIdleBroken?.();
  }
}
