/**
 * Opening a connection to a member, for every transport: TCP (or TLS for http members with
 * `tls=true`), `socket_connect_timeout` over the whole of it, and a failure in the routing core's
 * terms: 'connect' with nothing sent, or 'local' when this process ran out of descriptors.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { TransportError, isLocalResourceError } from '../transport.js';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** TLS to the member, its certificate verified against the system's CAs (SNI for host names). */
  readonly tls?: boolean;
  /** Local address ('' = any). */
  readonly source: string;
  /** ms; 0 = the OS's own limit. */
  readonly connectTimeoutMs: number;
  readonly keepalive: boolean;
}

/** `done` gets the connected socket (no error listener left on it), or the TransportError. */
export function openSocket(o: ConnectOptions, done: (err: TransportError | null, socket: Socket | null) => void): void {
  const common = { host: o.host, port: o.port, ...(o.source ? { localAddress: o.source } : {}) };
  const socket = o.tls
    ? tlsConnect({ ...common, servername: isIP(o.host) === 0 ? o.host : undefined, ALPNProtocols: ['http/1.1'] })
    : netConnect({ ...common, noDelay: true, keepAlive: o.keepalive });
  const ready = o.tls ? 'secureConnect' : 'connect';
  let timer: NodeJS.Timeout | null = null;
  let settled = false;
  const fail = (why: string): void => {
    if (settled) return;
    settled = true;
    if (timer !== null) clearTimeout(timer);
    socket.removeListener(ready, onReady);
    socket.destroy();
    // Out of descriptors here is our shortage, not the member's.
    done(new TransportError(isLocalResourceError(why) ? 'local' : 'connect', `cannot connect to ${o.host}:${o.port}: ${why}`, true), null);
  };
  const onError = (err: NodeJS.ErrnoException): void => fail(err.code ?? err.message);
  const onReady = (): void => {
    if (settled) return;
    settled = true;
    if (timer !== null) clearTimeout(timer);
    socket.removeListener('error', onError);
    if (o.tls) {
      socket.setNoDelay(true);
      if (o.keepalive) socket.setKeepAlive(true);
    }
    done(null, socket);
  };
  if (o.connectTimeoutMs > 0) timer = setTimeout(() => fail(`timeout after ${o.connectTimeoutMs} ms`), o.connectTimeoutMs);
  socket.once('error', onError);
  socket.once(ready, onReady);
}
