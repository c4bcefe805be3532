/**
 * One plain HTTP request through an lb worker: the request driver runs the lb retry loop
 * (docs/load-balancing.md#request-loop); this file makes each attempt — member-level retries inside
 * it (docs/load-balancing.md#member-retries), the reply relayed with backpressure — and never
 * replays anything once the reply has started.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MountRule } from '../config/model.js';
import type { Balancer } from '../routing/balancer.js';
import type { DrainRegistry } from '../routing/drain.js';
import type { AttemptInfo, AttemptOutcome, OutcomeKind } from '../routing/types.js';
import { NO_BODY, ReplayableBody, requestBodyLength, type ClientBody } from './body.js';
import { ClientGoneSignal } from './client-signal.js';
import { cookieLines, forwardRequestHeaders, hostHeader, relayResponseHeaders } from './headers.js';
import type { ListenerLimits } from './limits.js';
import type { RequestObserver } from '../routing/observer.js';
import { codeForStatus, sendOwnReply } from '../http/own-replies.js';
import { drive, recordRequest, type AttemptRunner, type Driven } from './request-driver.js';
import type { ForwardUriMode } from './request-target.js';
import { tlsFactsOf } from './tls-facts.js';
import { TransportError, type BackendResponse, type ForwardRequest, type ReplySink, type Transport, type TransportFactory } from './transport.js';

/** What the data path needs of one lb worker. */
export interface LbTarget {
  readonly name: string;
  readonly balancer: Balancer;
  /** Indexed like balancer.members. */
  readonly transports: readonly Transport[];
  /** Bytes of request body kept for replay to another attempt. */
  readonly replayLimit: number;
  /** Builds a member's transport again when a live change moved its transport generation (transportFor). */
  readonly createTransport: TransportFactory;
}

export interface ProxyEnv {
  readonly logger: Logger;
  readonly observer: RequestObserver;
  /** Sticky sessions per member, for drain progress and the drain policy. */
  readonly drains: DrainRegistry;
  readonly listenPort: number;
  readonly limits: ListenerLimits;
  readonly forwardUri: ForwardUriMode;
}

function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The Host header's name part (an IPv6 literal keeps its brackets). */
export function hostName(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  return end <= 0 ? host : host.slice(0, end);
}

/**
 * Signed fail_on_status entry matching this status, or 0. First matching entry wins
 * (docs/directives.md#member-connection).
 */
function failOnStatusMatch(list: readonly number[], status: number): number {
  for (const code of list) if (code === status || code === -status) return code;
  return 0;
}

/** `url` is the path and query for the backend (request-target.ts). */
export async function proxyToLb(target: LbTarget, rule: MountRule, url: string, req: IncomingMessage, res: ServerResponse, env: ProxyEnv): Promise<void> {
  const startedMs = performance.now();
  const raw = req.rawHeaders;
  const secure = (req.socket as TLSSocket).encrypted === true;
  const method = req.method ?? 'GET';
  const r = target.balancer.begin({ method, path: pathOnly(url), cookies: cookieLines(raw), secure, rule: rule.ext });
  const runner = new HttpAttempts(target, rule, url, req, res, env, secure);
  let d: Driven;
  try {
    d = await drive(target, r, runner, env);
  } finally {
    runner.dispose();
  }
  const body = runner.body;
  body.close();
  let status: number;
  if (d.answered) {
    // What the client got: the member's status, even if the reply broke off after its head.
    status = d.outcome.status;
  } else if (body.timedOut) {
    status = 408;
    sendOwnReply(res, 'JKB_BODY_TIMEOUT');
  } else if (runner.clientGone) {
    status = d.status || 499;
  } else {
    status = d.status || 503;
    sendOwnReply(res, codeForStatus(status), { status });
  }
  recordRequest(env, target, r, d, { method, path: loggablePath(url), status, startedMs, clientGone: runner.clientGone });
}

/** A plain HTTP request's attempts: forward it, relay the reply (the driver runs the loop). */
class HttpAttempts implements AttemptRunner {
  readonly body: ClientBody;
  private readonly gone: ClientGoneSignal;
  /** The request as members get it; the per-attempt fields are set before each attempt. */
  private readonly fwd: { -readonly [K in keyof ForwardRequest]: ForwardRequest[K] };

  constructor(
    private readonly target: LbTarget,
    private readonly rule: MountRule,
    url: string,
    req: IncomingMessage,
    private readonly res: ServerResponse,
    env: ProxyEnv,
    secure: boolean,
  ) {
    this.gone = new ClientGoneSignal(res, req.socket);
    const length = requestBodyLength(req.rawHeaders);
    this.body = length === 0 ? NO_BODY : new ReplayableBody(req, length, target.replayLimit, env.limits.bodyIdleTimeoutMs);
    const remoteAddress = req.socket.remoteAddress ?? '';
    this.fwd = {
      method: req.method ?? 'GET',
      url,
      httpVersion: req.httpVersion,
      headers: forwardRequestHeaders(req.rawHeaders, remoteAddress, secure),
      headersChecked: req.httpVersionMajor === 1,
      body: this.body,
      remoteAddress,
      remotePort: req.socket.remotePort ?? 0,
      serverName: hostName(hostHeader(req.rawHeaders)),
      serverPort: env.listenPort,
      secure,
      // Read once per connection; members get them as AJP attributes or X-SSL-* headers.
      tls: secure ? tlsFactsOf(req) : null,
      activation: '',
      route: '',
      replyTimeoutMs: 0,
      signal: this.gone,
    };
  }

  get clientGone(): boolean {
    return this.gone.aborted;
  }

  get replayable(): boolean {
    return this.body.replayable;
  }

  dispose(): void {
    this.gone.dispose();
  }

  broken(outcome: AttemptOutcome): void {
    if (outcome.responseStarted && !this.res.destroyed) this.res.destroy();
  }

  /** One lb attempt on member i, with the member's own retries (docs/load-balancing.md#member-retries). */
  async attempt(i: number, info: AttemptInfo, outcome: AttemptOutcome): Promise<void> {
    const { target, rule, fwd, body, gone } = this;
    const m = target.balancer.members[i];
    fwd.activation = info.activation;
    fwd.route = info.route;
    fwd.replyTimeoutMs = rule.ext.replyTimeoutMs >= 0 ? rule.ext.replyTimeoutMs : m.replyTimeoutMs;
    const transport = transportFor(target, i);
    const failOn = rule.ext.failOnStatus ?? m.config.failOnStatus;
    const tries = Math.max(1, m.retries);
    for (let t = 0; t < tries; t++) {
      if (t > 0) {
        if (m.retryIntervalMs > 0) await sleep(m.retryIntervalMs);
        if (gone.aborted) break;
      }
      let resp: BackendResponse;
      try {
        resp = await transport.forward(fwd);
      } catch (err) {
        const te = err instanceof TransportError ? err : new TransportError('read', String(err));
        outcome.kind = te.kind;
        outcome.status = te.clientStatus;
        outcome.bytesSent = body.bytesRead;
        // Connect-class failures never reached the backend: the member gets its own retries.
        if (te.kind === 'connect' && body.replayable && !gone.aborted) continue;
        return;
      }
      outcome.bytesSent = resp.bytesSent();
      const hit = failOn.length > 0 ? failOnStatusMatch(failOn, resp.status) : 0;
      if (hit !== 0) {
        resp.body.discard();
        outcome.kind = 'fail_status';
        outcome.status = hit;
        outcome.bytesReceived = resp.bytesReceived();
        if (body.replayable && !gone.aborted) continue; // mod_jk retries the same member first (docs/load-balancing.md#member-retries)
        return;
      }
      const relaying = relay(resp, info, rule, this.res, gone, outcome);
      if (relaying !== null) await relaying;
      return;
    }
  }
}

/**
 * The member's transport; rebuilt from the member's live settings when a setting it is built from
 * changed (its transport generation moved: host, port, pool and CPing timeouts, packet size). The
 * old one finishes its in-flight requests and closes.
 */
function transportFor(target: LbTarget, i: number): Transport {
  const m = target.balancer.members[i];
  const t = target.transports[i];
  if (t.member.generation === m.transportGeneration) return t;
  const next = target.createTransport(m.transportConfig);
  (target.transports as Transport[])[i] = next;
  if (t.retire !== undefined) t.retire();
  else void t.close();
  return next;
}

/**
 * Stream the reply to the client. The head goes out first: from here on nothing is replayed.
 * Null when it is over at once (the usual small reply, already read whole: no promise, no event-loop
 * turn), else a promise that settles (never rejects) when it is; either way `outcome` says how it went.
 */
function relay(resp: BackendResponse, info: AttemptInfo, rule: MountRule, res: ServerResponse, gone: ClientGoneSignal, outcome: AttemptOutcome): Promise<void> | null {
  outcome.status = resp.status;
  const useServerErrors = rule.ext.useServerErrors;
  if (useServerErrors > 0 && resp.status >= useServerErrors) {
    // The mount asks for our error page instead of the backend's body.
    resp.body.discard();
    outcome.kind = 'success';
    outcome.responseStarted = true;
    sendOwnReply(res, 'JKB_APP_ERROR', { status: resp.status });
    return null;
  }
  const headers = relayResponseHeaders(resp.headers, info.setCookie);
  if (res.destroyed) {
    resp.body.discard();
    outcome.kind = 'client_error';
    return null;
  }
  try {
    // The reason phrase is not relayed: Tomcat's AJP connector sends the bare number, and HTTP/2 has none.
    res.writeHead(resp.status, headers);
  } catch {
    // A header Node refuses to send (invalid characters): a malformed reply, nothing sent yet.
    resp.body.discard();
    outcome.kind = 'protocol';
    return null;
  }
  outcome.responseStarted = true;
  return new Relay(resp, res, gone, outcome).run();
}

/**
 * Body → client with backpressure, as one object per reply (no closures). Listeners on the
 * response only while it is full (the usual small reply never needs them). A client that goes away
 * is reported by the transport while it still reads the reply (it watches the request's
 * ClientSignal) or, while we wait for 'drain', by the response's 'close' and by the signal itself:
 * a reply queued behind another on its connection hears no 'close', and the transport may have
 * read the whole reply (into the channel) and let go of the signal already. The outcome is set
 * when it ends: success, the transport's kind for a broken backend, client_error otherwise.
 */
class Relay implements ReplySink {
  private waiting = false;
  private settled = false;
  private resolve: (() => void) | null = null;
  /** Made the first time the response is full. */
  private onDrain: (() => void) | null = null;
  private onClose: (() => void) | null = null;

  constructor(
    private readonly resp: BackendResponse,
    private readonly res: ServerResponse,
    private readonly gone: ClientGoneSignal,
    private readonly outcome: AttemptOutcome,
  ) {}

  /** Null when the reply went out within start() (its body had arrived whole). */
  run(): Promise<void> | null {
    this.resp.body.start(this);
    if (this.settled) return null;
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
  }

  data(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    if (!this.waiting) {
      this.waiting = true;
      this.res.on(
        'drain',
        (this.onDrain ??= () => {
          this.unwait();
          this.resp.body.resume();
        }),
      );
      this.onClose ??= () => {
        this.unwait();
        this.resp.body.discard();
        this.fail('client_error');
      };
      if (this.gone.aborted) {
        this.onClose();
        return false;
      }
      this.res.on('close', this.onClose);
      this.gone.addEventListener('abort', this.onClose);
    }
    return false;
  }

  end(): void {
    this.unwait();
    this.res.end();
    this.settle('success');
  }

  /** A broken backend mid-reply is its fault (the transport's kind); the client going away is the client's. */
  error(err: TransportError): void {
    this.unwait();
    this.fail(err.kind);
  }

  private fail(kind: OutcomeKind): void {
    if (!this.res.destroyed) this.res.destroy();
    this.settle(kind);
  }

  private settle(kind: OutcomeKind): void {
    if (this.settled) return;
    this.settled = true;
    const o = this.outcome;
    o.kind = kind;
    o.bytesReceived = this.resp.bytesReceived();
    o.bytesSent = this.resp.bytesSent();
    this.resolve?.();
  }

  private unwait(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.res.off('drain', this.onDrain!);
    this.res.off('close', this.onClose!);
    this.gone.removeEventListener('abort', this.onClose!);
  }
}

/** Path for the log: no query, and no path parameters (;jsessionid= carries a session id). */
function loggablePath(url: string): string {
  const path = pathOnly(url);
  return path.includes(';') ? path.replace(/;[^/]*/g, '') : path;
}
