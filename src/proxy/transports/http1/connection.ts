/**
 * One keep-alive connection to an http member (plain TCP, or TLS for `tls=true`), carrying one
 * request at a time. Its reply is parsed as it arrives and handed to the attached exchange; while it
 * idles in the pool, any byte or close from the backend marks it broken (a server never speaks
 * unasked), and the pool drops it.
 */
import type { Socket } from 'node:net';
import type { TransportError } from '../../transport.js';
import { openSocket, type ConnectOptions } from '../connect.js';
import { ResponseParser, type ParseError, type ReplyEvents } from './response-parser.js';

/** The request using a connection: its reply's parts, and the connection's failure. */
export interface ExchangeListener extends ReplyEvents {
  /** The connection failed under it: unparseable bytes (`parse`), or a socket error/EOF (`err` null). */
  broken(err: Error | null, parse: boolean): void;
}

export class Http1Connection {
  private readonly parser = new ResponseParser();
  private listener: ExchangeListener | null = null;
  /** Set once the socket is no longer usable; never cleared. */
  broken = false;
  /** While idle: when the pool stops reusing it (ms, Date.now clock). */
  idleUntilMs = 0;
  /** Called once when it breaks while idle (the pool removes it). */
  onIdleBroken: ((conn: Http1Connection) => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.markBroken(err, false));
    socket.on('close', () => this.markBroken(null, false));
  }

  /** Opens a connection; `done` gets it, or a TransportError 'connect' (or 'local'), nothing sent. */
  static open(o: ConnectOptions, done: (err: TransportError | null, conn: Http1Connection | null) => void): void {
    openSocket(o, (err, socket) => done(err, socket === null ? null : new Http1Connection(socket)));
  }

  /** The next reply on it goes to `listener` (`headOnly`: it answers a HEAD). */
  attach(listener: ExchangeListener, headOnly: boolean): void {
    this.listener = listener;
    this.parser.expect(listener, headOnly);
    // Broken while nobody listened: its user must hear it, or it would wait forever.
    if (this.broken) {
      queueMicrotask(() => {
        if (this.listener !== listener) return;
        this.listener = null;
        listener.broken(null, false);
      });
    }
  }

  /**
   * The request is over (its reply complete): the connection may idle again, reading again if the
   * reply's consumer had paused it (what comes now is unasked for and breaks it).
   */
  detach(): void {
    this.listener = null;
    if (this.socket.isPaused()) this.socket.resume();
  }

  /** Closes it without telling anyone (its user has already given up). */
  destroy(): void {
    if (!this.broken) {
      this.broken = true;
      this.parser.close();
    }
    this.listener = null;
    this.onIdleBroken = null;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.listener === null) {
      this.markBroken(new Error('unexpected data on an idle connection'), true);
      return;
    }
    const err = this.parser.execute(chunk);
    if (err !== null) this.markBroken(err, true);
  }

  private onEnd(): void {
    // A close-delimited body ends here (the reply completes); any other reply still open was cut
    // short: the connection broke under it (a read failure, not a malformed reply).
    if (this.listener !== null && !this.broken) this.parser.finish();
    this.markBroken(null, false);
  }

  private markBroken(err: Error | null, parse: boolean): void {
    if (this.broken) return;
    this.broken = true;
    this.parser.close();
    this.socket.destroy();
    const l = this.listener;
    this.listener = null;
    if (l !== null) l.broken(err, parse);
    else this.onIdleBroken?.(this);
  }
}

/** The message for a reply llhttp could not frame. */
export function parseProblem(err: Error): string {
  const e = err as ParseError;
  return e.reason ?? e.message ?? e.code ?? 'unparseable reply';
}
