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
import { normalizePath } from '../config/index.js';
import type { AttemptOutcome } from '../routing/types.js';
import type { Farm, LbEntry } from './farm.js';
import type { ProxyEnv } from './forward.js';
import { ACTIVATION_HEADER, ROUTE_HEADER, cookieLines } from './headers.js';

function refuse(socket: Duplex, status: number, text: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

export function proxyWebSocket(farm: Farm, req: IncomingMessage, socket: Duplex, head: Buffer, env: ProxyEnv): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const path = normalizePath(rawPath);
  const rule = path === null ? null : farm.loaded.mounts.match(path);
  const entry = rule ? farm.entries.get(rule.worker) : undefined;
  if (!rule || !entry || entry.kind !== 'lb') {
    refuse(socket, 404, 'Not Found');
    return;
  }
  void upgradeThroughLb(entry, rule.ext, req, socket, head, rawPath, env);
}

async function upgradeThroughLb(
  entry: LbEntry,
  ext: import('../config/model.js').RuleExtensions,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  rawPath: string,
  env: ProxyEnv,
): Promise<void> {
  const balancer = entry.balancer;
  const secure = (req.socket as TLSSocket).encrypted === true;
  const r = balancer.begin({ method: req.method ?? 'GET', path: rawPath, cookies: cookieLines(req.rawHeaders), secure, rule: ext });
  const outcome: AttemptOutcome = { kind: 'success', status: 101, responseStarted: false, bodyReplayable: true, bytesSent: 0, bytesReceived: 0 };
  for (;;) {
    const step = balancer.next(r);
    if (step.kind === 'wait') {
      await new Promise((res) => setTimeout(res, step.ms));
      continue;
    }
    if (step.kind === 'done') {
      if (outcome.kind !== 'success') {
        env.logger.warn({ lb: entry.name, path: rawPath, status: step.status, reason: step.reason }, 'websocket upgrade failed');
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
    const result = await tryUpgrade(m.host, m.port, m.config.tls, info.activation, info.route, req, socket, head);
    outcome.kind = result === 'open' ? 'success' : result === 'closed' ? 'client_error' : 'connect';
    outcome.responseStarted = result !== 'unreachable';
    balancer.endAttempt(r, i, outcome);
    if (result === 'open') {
      env.logger.info({ lb: entry.name, member: m.name, path: rawPath, sticky: r.sticky, route: r.route }, 'websocket');
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
  activation: string,
  route: string,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<'open' | 'unreachable' | 'closed'> {
  return new Promise((resolve) => {
    const proxy = createProxyServer({
      target: { host, port, protocol: tls ? 'https:' : 'http:' },
      ws: true,
      xfwd: true,
      headers: { [ACTIVATION_HEADER]: activation, ...(route ? { [ROUTE_HEADER]: route } : {}) },
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
