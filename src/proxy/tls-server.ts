/**
 * The TLS listener (`--listen-tls`): HTTP/1.1 over TLS, or with `--http2` HTTP/2 and HTTP/1.1 on the
 * same port (ALPN). It serves through the same handlers as the plain listener (server.ts); HTTP/2
 * requests are first given an HTTP/1.1-shaped head (h2-request.ts). WebSocket upgrades exist on
 * HTTP/1.1 only, so they keep working there.
 *
 * What one client may hold here, beyond the plain listener's limits: a TLS handshake has
 * --header-timeout to complete; an HTTP/2 connection carries at most --http2-max-streams requests
 * at once, headers of at most Node's header size limit (16 KiB), and is closed gracefully after
 * 65 s without a frame (as an idle keep-alive connection is).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type ServerHttp2Session } from 'node:http2';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Farm } from './farm.js';
import type { ProxyEnv } from './forward.js';
import { asHttp1Request } from './h2-request.js';
import { http1Listener, type ListenAddress, type Listener } from './listener.js';
import { attachProxy, http1Settings, KEEP_ALIVE_TIMEOUT_MS, requestHandler } from './server.js';
import { SECURE_DEFAULTS, clientCertOptions, type TlsFiles, type TlsMaterial } from './tls-context.js';
import { sendOwnReply } from '../http/own-replies.js';

export interface TlsListenerOptions {
  readonly files: TlsFiles;
  /** Loaded and checked at start (tls-context.ts). */
  readonly material: TlsMaterial;
  /** Offer HTTP/2 (ALPN h2) besides HTTP/1.1. */
  readonly http2: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS: requests one HTTP/2 connection may have open at once. */
  readonly http2MaxStreams: number;
}

export function createTlsListener(address: ListenAddress, getFarm: () => Farm, env: ProxyEnv, opts: TlsListenerOptions): Listener {
  const secure = {
    ...SECURE_DEFAULTS,
    ...opts.material,
    ...clientCertOptions(opts.files),
    // A connection that never finishes its handshake holds a slot like a slow request head.
    handshakeTimeout: env.limits.headerTimeoutMs,
  };
  const listener = opts.http2 ? http2Listener(address, getFarm, env, secure, opts.http2MaxStreams) : https1Listener(address, getFarm, env, secure);
  const server = listener.server;
  // A failed handshake has no HTTP to answer with (Node's HTTP/2 server would pass it on to
  // 'clientError', which writes an HTTP reply): drop the connection.
  server.removeAllListeners('tlsClientError');
  server.on('tlsClientError', (err: Error, socket: Duplex) => {
    env.logger.debug({ err: err.message }, 'TLS handshake failed');
    socket.destroy();
  });
  return {
    ...listener,
    useTlsMaterial(material: TlsMaterial) {
      (server as https.Server).setSecureContext({ ...SECURE_DEFAULTS, ...material });
    },
  };
}

function https1Listener(address: ListenAddress, getFarm: () => Farm, env: ProxyEnv, secure: https.ServerOptions): Listener {
  const server = https.createServer({ ...http1Settings(env.limits), ...secure });
  attachProxy(server, getFarm, env, requestHandler(getFarm, env));
  return http1Listener(address, server);
}

function http2Listener(address: ListenAddress, getFarm: () => Farm, env: ProxyEnv, secure: http2.SecureServerOptions, maxStreams: number): Listener {
  const server = http2.createSecureServer({
    ...secure,
    allowHTTP1: true,
    settings: { maxConcurrentStreams: maxStreams, maxHeaderListSize: http.maxHeaderSize },
  });
  // Node configures the HTTP/1.1 side of this server from none of the options http.createServer
  // takes: give it the plain listener's timeouts, and its refusal of an HTTP/1.1 request without Host.
  Object.assign(server, http1Settings(env.limits), { requireHostHeader: true });

  const serve = requestHandler(getFarm, env);
  attachProxy(server, getFarm, env, (req: IncomingMessage, res: ServerResponse) => {
    if (req.httpVersionMajor === 2) {
      const problem = asHttp1Request(req as unknown as Http2ServerRequest);
      if (problem !== null) {
        sendOwnReply(res, 'JKB_BAD_REQUEST', { detail: problem });
        return;
      }
    }
    serve(req, res);
  });

  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // Idle: no frame either way. close() lets open streams finish (GOAWAY) and refuses new ones.
    session.setTimeout(KEEP_ALIVE_TIMEOUT_MS, () => session.close());
  });

  // The HTTP/1.1 side's connections are tracked by Node's HTTP server code, as on https.
  const h1 = server as unknown as http.Server;
  return {
    address,
    server,
    closeIdle() {
      for (const s of sessions) s.close();
      http.Server.prototype.closeIdleConnections.call(h1);
    },
    closeAll() {
      for (const s of sessions) s.destroy();
      http.Server.prototype.closeAllConnections.call(h1);
    },
  };
}
