/**
 * WebSocket upgrades: routed like any request, by the same request driver (mount map, stickiness by
 * cookie, failover while the upgrade has not succeeded, metrics, drain tracking, the request log),
 * then carried by http-proxy-3's well-tested ws pass. AJP13 cannot carry an upgraded connection, so
 * only `type=http` members take WebSockets.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createProxyServer } from 'http-proxy-3';
import type { AttemptInfo, AttemptOutcome } from '../routing/types.js';
import type { Farm, LbEntry } from './farm.js';
import type { ProxyEnv } from './forward.js';
import { ACTIVATION_HEADER, ROUTE_HEADER, SSL_HEADERS, cookieLines, forwardRequestHeaders, pushSslHeaders } from './headers.js';
import { codeForStatus, rawOwnReply, type OwnReplyCode } from '../http/own-replies.js';
import { drive, recordRequest, type AttemptRunner } from './request-driver.js';
import { readTarget } from './request-target.js';
import { tlsFactsOf } from './tls-facts.js';

/** Forwarding facts the balancer writes; a client's own values never reach the member. */
const OWN_FACTS: readonly string[] = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded', ACTIVATION_HEADER, ROUTE_HEADER, ...Object.values(SSL_HEADERS)];

/**
 * Our forwarding facts for the upgrade, computed as for any request (forwardRequestHeaders), and the
 * client's copies removed from what http-proxy-3 relays.
 */
function ownFacts(req: IncomingMessage, secure: boolean): Record<string, string> {
  const all = forwardRequestHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', secure);
  if (secure) pushSslHeaders(all, tlsFactsOf(req));
  const facts: Record<string, string> = {};
  for (let i = 0; i < all.length; i += 2) if (OWN_FACTS.includes(all[i])) facts[all[i]] = all[i + 1];
  for (const name of OWN_FACTS) delete req.headers[name];
  return facts;
}

function refuse(socket: Duplex, code: OwnReplyCode, status?: number): void {
  if (socket.writable) socket.end(rawOwnReply(code, status));
  else socket.destroy();
}

export function proxyWebSocket(farm: Farm, req: IncomingMessage, socket: Duplex, head: Buffer, env: ProxyEnv): void {
  const target = readTarget(req, env.forwardUri);
  if (typeof target === 'string') {
    refuse(socket, 'JKB_BAD_REQUEST');
    return;
  }
  const rule = farm.loaded.mounts.match(target.path);
  const entry = rule ? farm.entries.get(rule.worker) : undefined;
  if (!rule || !entry || entry.kind !== 'lb') {
    refuse(socket, 'JKB_NOT_MOUNTED');
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
  const startedMs = performance.now();
  const secure = (req.socket as TLSSocket).encrypted === true;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const method = req.method ?? 'GET';
  // The routing core reads a `;jsessionid=` path parameter from the forwarded path, as for any request.
  const r = entry.balancer.begin({ method, path: q < 0 ? url : url.slice(0, q), cookies: cookieLines(req.rawHeaders), secure, rule: ext });
  const runner = new UpgradeAttempts(entry, req, socket, head, ownFacts(req, secure));
  const d = await drive(entry, r, runner, env);
  // Answered: 101, or the member's own refusal (relayed as it was).
  let status = d.outcome.status;
  if (!d.answered) {
    status = d.status || 503;
    if (!runner.clientGone) refuse(socket, codeForStatus(status), status);
  }
  recordRequest(env, entry, r, d, { method, path, status, startedMs, clientGone: runner.clientGone });
}

/**
 * 'open': the member accepted (status 101); 'refused': it answered with another status, relayed to
 * the client; 'unreachable': it could not be reached (try another); 'closed': the client left first.
 */
interface UpgradeResult {
  readonly kind: 'open' | 'refused' | 'unreachable' | 'closed';
  readonly status: number;
}

/** An upgrade's attempts: only `type=http` members can carry one (AJP13 cannot). */
class UpgradeAttempts implements AttemptRunner {
  private closed = false;
  readonly replayable = true;

  constructor(
    private readonly entry: LbEntry,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly facts: Record<string, string>,
  ) {
    socket.once('close', () => (this.closed = true));
  }

  get clientGone(): boolean {
    return this.closed;
  }

  broken(): void {
    this.socket.destroy();
  }

  async attempt(i: number, info: AttemptInfo, outcome: AttemptOutcome): Promise<void> {
    const m = this.entry.balancer.members[i];
    if (m.config.type !== 'http') {
      outcome.kind = 'protocol';
      return;
    }
    const headers = { ...this.facts, [ACTIVATION_HEADER]: info.activation, ...(info.route ? { [ROUTE_HEADER]: info.route } : {}) };
    const result = await tryUpgrade(m.host, m.port, m.config.tls, headers, this.req, this.socket, this.head);
    outcome.status = result.status;
    outcome.kind = result.kind === 'open' || result.kind === 'refused' ? 'success' : result.kind === 'closed' ? 'client_error' : 'connect';
    outcome.responseStarted = result.kind !== 'unreachable';
  }
}

/** One http-proxy-3 server carries every upgrade; the target and headers are given per call. */
let wsProxy: ReturnType<typeof createProxyServer> | null = null;
/** Upgrades in progress, told how their member answered (the proxy's events do not say whose). */
const answered = new WeakMap<IncomingMessage, (status: number) => void>();

function sharedProxy(): ReturnType<typeof createProxyServer> {
  if (wsProxy !== null) return wsProxy;
  wsProxy = createProxyServer({ ws: true });
  wsProxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage) => {
    proxyReq.once('upgrade', () => answered.get(req)?.(101));
    proxyReq.once('response', (res: IncomingMessage) => answered.get(req)?.(res.statusCode ?? 502));
  });
  // Errors reach each call's callback; this keeps a late one from being an unhandled 'error'.
  wsProxy.on('error', () => {});
  return wsProxy;
}

function tryUpgrade(
  host: string,
  port: number,
  tls: boolean,
  headers: Record<string, string>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<UpgradeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (v: UpgradeResult): void => {
      if (settled) return;
      settled = true;
      answered.delete(req);
      socket.off('close', onClose);
      resolve(v);
    };
    const onClose = (): void => settle({ kind: 'closed', status: 0 });
    answered.set(req, (status) => settle({ kind: status === 101 ? 'open' : 'refused', status }));
    socket.once('close', onClose);
    sharedProxy().ws(req, socket as Socket, head, { target: { host, port, protocol: tls ? 'https:' : 'http:' }, headers }, () => {
      if (settled) socket.destroy();
      else settle({ kind: 'unreachable', status: 0 });
    });
  });
}
