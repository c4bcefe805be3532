/**
 * Active health checks (README "Health checks"): every lb member with `health_check_method` is
 * probed on a connection of its own, never the member's pool, and each result goes to
 * Balancer.healthCheckResult, which moves the member as failed and served requests do. Checks are
 * not traffic: they pass no request observer, no request log and no request counter.
 *
 * One HealthChecker per farm: a reload stops the old one (results still in flight are dropped) and
 * starts one for the new farm. Timers are unref'd, so checks never keep the process alive.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Logger } from 'pino';
import type { HealthCheckConfig } from '../config/model.js';
import type { Balancer } from '../routing/balancer.js';
import { inErrorState, type CheckResult } from '../routing/health.js';
import type { MemberRuntime } from '../routing/member.js';
import { Act } from '../routing/types.js';

/** How much of a reply body a check looks through for `health_check_body`. */
const BODY_LIMIT = 64 * 1024;
const USER_AGENT = 'jkbalancer-health-check';

/** Where a check goes: the member's live address (a status change of host/port moves the checks too). */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** Local address ('' = any), as the member's `source`. */
  readonly source: string;
}

/** A running check that can be called off (stop, reload). */
export interface Probe {
  readonly result: Promise<CheckResult>;
  cancel(): void;
}

const bracketed = (host: string) => (host.includes(':') ? `[${host}]` : host);

function errorText(err: Error): string {
  const code = (err as { code?: string }).code;
  return code ?? err.message;
}

function expected(status: number, cfg: HealthCheckConfig): boolean {
  return cfg.expect.some(([low, high]) => status >= low && status <= high);
}

function expectText(cfg: HealthCheckConfig): string {
  return cfg.expect.map(([low, high]) => (low === high ? String(low) : `${low}-${high}`)).join(',');
}

/**
 * One check of `target`: a TCP connect, or an HTTP request whose status must be one of `expect`
 * (and whose body must hold `body`), all within `timeoutMs`.
 */
export function probe(target: ProbeTarget, cfg: HealthCheckConfig): Probe {
  const started = performance.now();
  let settle: (ok: boolean, reason: string) => void = () => {};
  let close: () => void = () => {};
  const result = new Promise<CheckResult>((resolve) => {
    let done = false;
    const timer = setTimeout(() => settle(false, `no answer within ${cfg.timeoutMs} ms`), cfg.timeoutMs);
    timer.unref();
    settle = (ok, reason) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      close();
      resolve({ ok, latencyMs: performance.now() - started, reason });
    };
  });
  const localAddress = target.source === '' ? undefined : target.source;

  if (cfg.method === 'TCP') {
    const socket = net.connect({ host: target.host, port: target.port, localAddress });
    close = () => socket.destroy();
    socket.once('connect', () => settle(true, ''));
    socket.once('error', (err) => settle(false, `connect: ${errorText(err)}`));
    return { result, cancel: () => settle(false, 'cancelled') };
  }

  const request = (target.tls ? https : http).request({
    host: target.host,
    port: target.port,
    method: cfg.method,
    path: cfg.uri,
    headers: { host: cfg.host !== '' ? cfg.host : `${bracketed(target.host)}:${target.port}`, 'user-agent': USER_AGENT, accept: '*/*' },
    // A connection of its own, closed after the check: the member's pool and its counters are the traffic's.
    agent: false,
    localAddress,
  });
  close = () => request.destroy();
  let answered = false;
  request.on('error', (err) => settle(false, `${answered ? 'reply' : 'connect'}: ${errorText(err)}`));
  request.on('response', (res) => {
    answered = true;
    res.on('error', () => {});
    const status = res.statusCode ?? 0;
    if (!expected(status, cfg)) return settle(false, `status ${status} (expected ${expectText(cfg)})`);
    if (cfg.body === '' || cfg.method === 'HEAD') return settle(true, '');
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes(cfg.body)) settle(true, '');
      else if (text.length >= BODY_LIMIT) settle(false, `body lacks ${JSON.stringify(cfg.body)} in its first ${BODY_LIMIT / 1024} KiB`);
    });
    res.on('end', () => settle(text.includes(cfg.body), text.includes(cfg.body) ? '' : `body lacks ${JSON.stringify(cfg.body)}`));
  });
  request.end();
  return { result, cancel: () => settle(false, 'cancelled') };
}

/** The checks of one farm's balancers. */
export class HealthChecker {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Probe>();
  private stopped = false;

  constructor(
    private readonly balancers: ReadonlyMap<string, Balancer>,
    private readonly logger: Logger,
  ) {}

  /** Every checked member gets its first check at once, then one per interval. */
  start(): void {
    for (const b of this.balancers.values()) {
      for (const m of b.members) if (m.config.healthCheck !== null) this.after(0, b, m);
    }
  }

  /** No further check; the results of checks in flight are dropped. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.running) p.cancel();
    this.running.clear();
  }

  private after(ms: number, b: Balancer, m: MemberRuntime): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.check(b, m);
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private async check(b: Balancer, m: MemberRuntime): Promise<void> {
    const cfg = m.config.healthCheck!;
    // A stopped member is not contacted at all (nor is one whose port is 0, which is stopped too).
    if (m.activation === Act.STOPPED) return this.after(cfg.intervalMs, b, m);
    const p = probe({ host: m.host, port: m.port, tls: m.config.tls, source: m.config.source }, cfg);
    this.running.add(p);
    const r = await p.result;
    this.running.delete(p);
    if (this.stopped) return;
    const verdict = b.healthCheckResult(m.index, r);
    const where = { lb: b.lb.name, member: m.name, latencyMs: Math.round(r.latencyMs) };
    if (verdict === 'error') {
      this.logger.warn({ ...where, reason: r.reason, fails: m.health!.consecutiveFails }, `health check: member '${m.name}' of '${b.lb.name}' in error (${r.reason})`);
    } else if (verdict === 'recover') {
      this.logger.info({ ...where, passes: m.health!.consecutivePasses }, `health check: member '${m.name}' of '${b.lb.name}' recovered`);
    }
    this.after(!r.ok || inErrorState(m.state) ? cfg.failIntervalMs : cfg.intervalMs, b, m);
  }
}
