/**
 * WebSocket upgrades: routed like any request (mount map, stickiness by cookie, failover while the
 * upgrade has not succeeded), then carried by http-proxy-3's well-tested ws pass.
 * AJP13 cannot carry an upgraded connection, so only `type=http` members take WebSockets.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createProxyServer } from 'http-proxy-3';
import type { AttemptOutcome } from '../routing/types.js';
import type { Farm, LbEntry } from './farm.js';
import type { ProxyEnv } from './forward.js';
import { ACTIVATION_HEADER, ROUTE_HEADER, cookieLines, forwardRequestHeaders } from './headers.js';
import { readTarget } from './request-target.js';

/** Forwarding facts the balancer writes; a client's own values never reach the member. */
const OWN_FACTS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded', ACTIVATION_HEADER, ROUTE_HEADER];

/**
 * Our forwarding facts for the upgrade, computed as for any request (forwardRequestHeaders), and the
 * client's copies removed from what http-proxy-3 relays.
 */
function ownFacts(req: IncomingMessage, secure: boolean): Record<string, string> {
  const all = forwardRequestHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', secure);
  const facts: Record<string, string> = {};
  for (let i = 0; i < all.length; i += 2) if (OWN_FACTS.includes(all[i])) facts[all[i]] = all[i + 1];
  for (const name of OWN_FACTS) delete req.headers[name];
  return facts;
}

function refuse(socket: Duplex, status: number, text: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

export function proxyWebSocket(farm: Farm, req: IncomingMessage, socket: Duplex, head: Buffer, env: ProxyEnv): void {
  const target = readTarget(req, env.forwardUri);
  if (typeof target === 'string') {
    refuse(socket, 400, 'Bad Request');
    return;
  }
  const rule = farm.loaded.mounts.match(target.path);
  const entry = rule ? farm.entries.get(rule.worker) : undefined;
  if (!rule || !entry || entry.kind !== 'lb') {
    refuse(socket, 404, 'Not Found');
    return;
  }
  // http-proxy-3 relays req.url: the URL our forwarding mode gives.
  req.url = target.url;
  void upgradeThroughLb(entry, rule.ext, req, socket, head, target.path, env);
}

async function upgradeThroughLb(
  entry: LbEntry,
  ext: import('../config/model.js').RuleExtensions,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  /** Normalised path: logged (path parameters may carry a session id). */
  path: string,
  env: ProxyEnv,
): Promise<void> {
  const balancer = entry.balancer;
  const secure = (req.socket as TLSSocket).encrypted === true;
  const facts = ownFacts(req, secure);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  // The routing core reads a `;jsessionid=` path parameter from the forwarded path, as for any request.
  const r = balancer.begin({ method: req.method ?? 'GET', path: q < 0 ? url : url.slice(0, q), cookies: cookieLines(req.rawHeaders), secure, rule: ext });
  const outcome: AttemptOutcome = { kind: 'success', status: 101, responseStarted: false, bodyReplayable: true, bytesSent: 0, bytesReceived: 0 };
  for (;;) {
    const step = balancer.next(r);
    if (step.kind === 'wait') {
      await new Promise((res) => setTimeout(res, step.ms));
      continue;
    }
    if (step.kind === 'done') {
      if (outcome.kind !== 'success') {
        env.logger.warn({ lb: entry.name, path, status: step.status, reason: step.reason }, 'websocket upgrade failed');
        refuse(socket, step.status, 'Service Unavailable');
      }
      return;
    }
    const i = step.member;
    const info = balancer.startAttempt(r, i);
    if (info === null) continue;
    const m = balancer.members[i];
    if (m.config.type !== 'http') {
      outcome.kind = 'protocol';
      balancer.endAttempt(r, i, outcome);
      continue;
    }
    const result = await tryUpgrade(m.host, m.port, m.config.tls, { ...facts, [ACTIVATION_HEADER]: info.activation, ...(info.route ? { [ROUTE_HEADER]: info.route } : {}) }, req, socket, head);
    outcome.kind = result === 'open' ? 'success' : result === 'closed' ? 'client_error' : 'connect';
    outcome.responseStarted = result !== 'unreachable';
    balancer.endAttempt(r, i, outcome);
    if (result === 'open') {
      env.logger.info({ lb: entry.name, member: m.name, path, sticky: r.sticky, route: r.route }, 'websocket');
    }
    if (result !== 'unreachable') return;
  }
}

/**
 * 'open' once the member accepted the upgrade; 'unreachable' if it could not be reached (try another);
 * 'closed' if the client socket closed first (or the member refused the upgrade and that reply was relayed).
 */
function tryUpgrade(
  host: string,
  port: number,
  tls: boolean,
  headers: Record<string, string>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<'open' | 'unreachable' | 'closed'> {
  return new Promise((resolve) => {
    const proxy = createProxyServer({
      target: { host, port, protocol: tls ? 'https:' : 'http:' },
      ws: true,
      headers,
    });
    let settled = false;
    const settle = (v: 'open' | 'unreachable' | 'closed'): void => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    proxy.on('open', () => settle('open'));
    socket.once('close', () => settle('closed'));
    proxy.ws(req, socket as Socket, head, () => {
      if (settled) socket.destroy();
      else settle('unreachable');
    });
  });
}
