/**
 * The listener: maps each request through the mount map (uriworkermap) to an lb or status worker.
 * No mount → 404. Unsafe paths (escaping the root) → 400.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { normalizePath } from '../config/index.js';
import type { Farm } from './farm.js';
import { proxyToLb, sendOwnError, type ProxyEnv } from './forward.js';
import { proxyWebSocket } from './websocket.js';

export function createProxyServer(getFarm: () => Farm, env: ProxyEnv): http.Server {
  const server = http.createServer({
    // Must outlive the idle time of clients and of any proxy in front of us.
    keepAliveTimeout: 65_000,
    headersTimeout: 66_000,
    // Long uploads/downloads are fine; reply_timeout guards the backend side.
    requestTimeout: 0,
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const farm = getFarm();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = normalizePath(q < 0 ? url : url.slice(0, q));
    if (path === null) {
      sendOwnError(res, 400, 'the request path is not valid');
      return;
    }
    const rule = farm.loaded.mounts.match(path);
    const entry = rule ? farm.entries.get(rule.worker) : undefined;
    if (!rule || !entry) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('404 Not Found: no worker is mounted for this path\n');
      return;
    }
    if (entry.kind === 'status') {
      entry.handler.handle(req, res);
      return;
    }
    proxyToLb(entry, rule, req, res, env).catch((err: unknown) => {
      env.logger.error({ err, lb: entry.name, method: req.method }, 'request failed inside the balancer');
      sendOwnError(res, 500, 'internal balancer error');
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    proxyWebSocket(getFarm(), req, socket, head, env);
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  return server;
}
