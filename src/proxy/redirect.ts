/**
 * `--redirect-https`: the plain listeners proxy nothing and send every request to the TLS listener
 * with the same host and target — 301 for GET and HEAD, 308 for other methods (which keeps the
 * method and body). WebSocket upgrades get the redirect too: a browser then connects with wss.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { hostName, type ProxyEnv } from './forward.js';
import { http1Listener, type ListenAddress, type Listener } from './listener.js';
import { readTarget } from './request-target.js';
import { guardListener, http1Settings } from './server.js';
import { sendOwnReply } from '../http/own-replies.js';

/** `tls` is the TLS listener redirected to; its port is read per request (it may be OS-chosen). */
export function createRedirectListener(address: ListenAddress, env: ProxyEnv, tls: { readonly host: string; readonly port: () => number }): Listener {
  const server = http.createServer(http1Settings(env.limits));
  guardListener(server, env);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // The same checks as before proxying: the Host and target put into Location are valid.
    const target = readTarget(req, 'unparsed');
    if (typeof target === 'string') {
      sendOwnReply(res, 'JKB_BAD_REQUEST', { detail: target });
      return;
    }
    const port = tls.port();
    const host = req.headers.host ? hostName(req.headers.host) : tls.host.includes(':') ? `[${tls.host}]` : tls.host;
    const location = `https://${host}${port === 443 ? '' : `:${port}`}${target.url}`;
    const keepsMethod = req.method !== 'GET' && req.method !== 'HEAD';
    sendOwnReply(res, 'JKB_HTTPS_REDIRECT', { status: keepsMethod ? 308 : 301, headers: { location } });
  });
  return http1Listener(address, server);
}
