/**
 * The listener: maps each request through the mount map (uriworkermap) to an lb or status worker.
 * This is the plain HTTP one and what every listener shares (TLS and HTTP/2: tls-server.ts).
 * Malformed heads and unsafe paths (escaping the root) → 400 before any worker sees them; no mount → 404.
 * What one client may hold here (head time, connections) is bounded by ListenerLimits.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Farm } from './farm.js';
import { rawOwnReply, sendOwnReply, type OwnReplyCode } from '../http/own-replies.js';
import { proxyToLb, type ProxyEnv } from './forward.js';
import type { ListenerLimits } from './limits.js';
import { readTarget } from './request-target.js';
import { proxyWebSocket } from './websocket.js';

/** What a client whose head Node's parser could not take gets (anything else: 400). */
const PARSER_ERRORS: Record<string, OwnReplyCode> = {
  // The head did not arrive within --header-timeout.
  ERR_HTTP_REQUEST_TIMEOUT: 'JKB_HEAD_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'JKB_HEAD_TOO_LARGE',
};

/** Refused connections are logged at most this often (a flood must not flood the log too). */
const DROP_LOG_INTERVAL_MS = 10_000;

/**
 * Node's HTTP/1.1 server settings for every listener (plain, TLS, and the HTTP/1.1 side of an
 * HTTP/2 listener, which Node does not configure from options: tls-server.ts assigns these).
 */
export function http1Settings(limits: ListenerLimits) {
  const { headerTimeoutMs } = limits;
  return {
    // Must outlive the idle time of clients and of any proxy in front of us.
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: headerTimeoutMs,
    // Node enforces headersTimeout only when it sweeps its connections: sweep often enough that
    // the limit is what the operator set, not up to 30 s more.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headerTimeoutMs / 4))),
    // Long uploads/downloads are fine; the body idle timeout and reply_timeout bound them.
    requestTimeout: 0,
  };
}

/** How long an idle keep-alive connection (or HTTP/2 session) stays open. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** The plain HTTP listener. */
export function createProxyServer(getFarm: () => Farm, env: ProxyEnv): http.Server {
  const server = http.createServer(http1Settings(env.limits));
  attachProxy(server, getFarm, env, requestHandler(getFarm, env));
  return server;
}

/** Mount map → lb or status worker, for one request whose head is HTTP/1.1-shaped. */
export function requestHandler(getFarm: () => Farm, env: ProxyEnv): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const farm = getFarm();
    const target = readTarget(req, env.forwardUri);
    if (typeof target === 'string') {
      sendOwnReply(res, 'JKB_BAD_REQUEST', { detail: target });
      return;
    }
    const path = target.path;
    const rule = farm.loaded.mounts.match(path);
    const entry = rule ? farm.entries.get(rule.worker) : undefined;
    if (!rule || !entry) {
      sendOwnReply(res, 'JKB_NOT_MOUNTED');
      return;
    }
    if (entry.kind === 'status') {
      entry.handler.handle(req, res);
      return;
    }
    proxyToLb(entry, rule, target.url, req, res, env).catch((err: unknown) => {
      env.logger.error({ err, lb: entry.name, method: req.method }, 'request failed inside the balancer');
      sendOwnReply(res, 'JKB_INTERNAL');
    });
  };
}

/**
 * The listener's events, on any of Node's server kinds (http, https, http2 with HTTP/1.1): requests
 * through `onRequest`, 100-continue, WebSocket upgrades, parser errors, refused connections.
 */
export function attachProxy(server: net.Server, getFarm: () => Farm, env: ProxyEnv, onRequest: (req: IncomingMessage, res: ServerResponse) => void): void {
  guardListener(server, env);
  server.on('request', onRequest);

  // Node answers `Expect: 100-continue` itself, but for a pipelined request queued behind another
  // reply it writes the 100 into that earlier reply (seen with Node 20). Answer it only when this
  // request's reply is the one on the connection: a client that pipelines has sent its body
  // unasked. Node would then close the connection after the reply (a 100 was expected and never
  // sent: its `_expect_continue`), dropping the requests behind it; the body is read, so it may stay.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (res.socket !== null) res.writeContinue();
    else (res as unknown as { _expect_continue: boolean })._expect_continue = false;
    server.emit('request', req, res);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    proxyWebSocket(getFarm(), req, socket, head, env);
  });
}

/**
 * What every listener does whatever it serves: --max-connections (refusals logged at most every
 * 10 s), failed accepts logged, a head Node's parser refused answered with our reply.
 */
export function guardListener(server: net.Server, env: Pick<ProxyEnv, 'logger' | 'limits'>): void {
  const { maxConnections } = env.limits;
  server.maxConnections = maxConnections;
  let dropped = 0;
  let dropLogged = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - dropLogged < DROP_LOG_INTERVAL_MS) return;
    dropLogged = now;
    env.logger.warn({ maxConnections, refused: dropped }, 'client connections refused: --max-connections reached');
    dropped = 0;
  });

  // After listen, the only server errors are failed accepts (EMFILE when out of descriptors):
  // Node emits them as 'error', which without a listener would end the process.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (server.listening) env.logger.error({ code: err.code, err: err.message }, 'could not accept a client connection');
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    endAfterReplies(socket, rawOwnReply(PARSER_ERRORS[err.code ?? ''] ?? 'JKB_BAD_REQUEST'));
  });
}

/**
 * Ends a connection with our reply once the replies to the requests read whole before the refused
 * head are out. Written at once it would take the place of the first of them (pipelining: a client
 * matches replies to requests by order), and that answer would be lost though its member did the
 * work. Node attaches one pending reply at a time to the socket, the next as soon as one finishes.
 * A request whose body was still arriving is the one the error cut short: it ends with the reply.
 * (Node's parser reads on meanwhile, as it did after an immediate end: should the rest of a timed-out
 * head arrive before then, that request is served and its reply goes out before ours.)
 */
function endAfterReplies(socket: Duplex, reply: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!pending || !pending.req.complete) {
    socket.end(reply);
    return;
  }
  // Node's own 'finish' listener, registered first, has attached the next reply by the time ours runs.
  let again: (() => void) | null = () => {
    again = null;
    endAfterReplies(socket, reply);
  };
  pending.once('finish', () => again?.());
  pending.once('close', () => again?.());
}
