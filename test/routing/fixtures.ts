/**
 * Test fixtures for the routing core: config objects with mod_jk's defaults (the config reader is
 * built separately), a fake clock, request views, outcomes, and a driver for the retry loop.
 */
import { expect } from 'vitest';
import type { LbConfig, MemberConfig, RuleExtensions } from '../../src/config/model.js';
import { LB_DEFAULTS } from '../../src/config/index.js';
import { NO_EXTENSIONS } from '../../src/config/rule-extensions.js';
import { Balancer, type LbRequest } from '../../src/routing/balancer.js';
import type { AttemptInfo, AttemptOutcome, Clock, OutcomeKind, RequestView } from '../../src/routing/types.js';

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

export function memberConfig(name: string, o: Mutable<MemberConfig> = {}): MemberConfig {
  const route = o.route ?? name;
  const dot = route.indexOf('.');
  return {
    name,
    type: 'ajp13',
    host: 'localhost',
    port: 8009,
    tls: false,
    source: '',
    lbfactor: 1,
    distance: 0,
    route,
    domain: o.domain ?? (dot < 0 ? '' : route.substring(0, dot)),
    redirect: '',
    activation: 'ACT',
    socketTimeoutSec: 0,
    socketConnectTimeoutMs: 0,
    socketKeepalive: false,
    connectionPoolSize: 1,
    connectionPoolMinsize: 1,
    connectionPoolTimeoutSec: 0,
    connectionAcquireTimeoutMs: 200,
    ping: { connectTimeoutMs: 0, prepostTimeoutMs: 0, intervalSec: 0, pingTimeoutMs: 10000, mode: '' },
    replyTimeoutMs: 0,
    retries: 2,
    retryIntervalMs: 100,
    recoveryOptions: 0,
    failOnStatus: [],
    busyLimit: 0,
    maxPacketSize: 8192,
    secret: '',
    drainIdleSec: 0,
    drainDeadlineSec: 0,
    healthCheck: null,
    source_ref: { file: 'workers.properties', line: 1 },
    ...o,
  } as MemberConfig;
}

export function lbConfig(members: MemberConfig[], o: Mutable<LbConfig> = {}): LbConfig {
  return {
    ...LB_DEFAULTS,
    name: 'lb',
    type: 'lb',
    members,
    secret: '',
    mounts: [],
    source_ref: { file: 'workers.properties', line: 1 },
    ...o,
  } as LbConfig;
}

export function rule(o: Mutable<RuleExtensions> = {}): RuleExtensions {
  return { ...NO_EXTENSIONS, ...o } as RuleExtensions;
}

export class FakeClock implements Clock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export function balancer(
  members: MemberConfig[],
  lb: Mutable<LbConfig> = {},
  opts: { maintainSec?: number; clock?: FakeClock } = {},
): { b: Balancer; clock: FakeClock } {
  const clock = opts.clock ?? new FakeClock();
  const b = new Balancer(lbConfig(members, lb), { maintainSec: opts.maintainSec ?? 60, clock });
  return { b, clock };
}

/** Members n1..nk with default settings. */
export function plain(k: number): MemberConfig[] {
  return Array.from({ length: k }, (_, i) => memberConfig(`n${i + 1}`));
}

export function view(o: Partial<RequestView> = {}): RequestView {
  return { method: 'GET', path: '/app/a', cookies: [], secure: false, rule: null, ...o };
}

export function outcome(kind: OutcomeKind, o: Partial<AttemptOutcome> = {}): AttemptOutcome {
  return {
    kind,
    status: kind === 'success' ? 200 : 0,
    responseStarted: false,
    bodyReplayable: true,
    bytesSent: 0,
    bytesReceived: 0,
    ...o,
  };
}
export const OK = outcome('success');

export interface Decision {
  member: string;
  path: string;
  sticky: boolean;
  route: string;
  info: AttemptInfo;
  request: LbRequest;
}

/** One request that succeeds on the first member chosen; returns that choice (or null if none). */
export function decide(b: Balancer, v: RequestView = view()): Decision | null {
  const r = b.begin(v);
  for (let s = b.next(r); s.kind !== 'done'; s = b.next(r)) {
    if (s.kind === 'wait') continue;
    const info = b.startAttempt(r, s.member);
    if (info === null) continue;
    const d: Decision = {
      member: b.members[s.member].name,
      path: r.path,
      sticky: r.sticky,
      route: info.route,
      info,
      request: r,
    };
    b.endAttempt(r, s.member, OK);
    expect(b.next(r)).toEqual({ kind: 'done', status: 200, reason: r.reason });
    return d;
  }
  return null;
}

/**
 * Runs a whole request; `respond` gives each attempt's outcome. Returns a trace such as
 * ['n1', 'n2', 'wait 100', 'n1', 'n2', 'done 503 connect'] (busy_limit refusals show as 'n1 busy').
 */
export function drive(
  b: Balancer,
  v: RequestView,
  respond: (member: string, r: LbRequest) => AttemptOutcome,
  clock?: FakeClock,
): { trace: string[]; request: LbRequest } {
  const trace: string[] = [];
  const r = b.begin(v);
  for (;;) {
    const s = b.next(r);
    if (s.kind === 'done') {
      trace.push(`done ${s.status} ${s.reason}`.trimEnd());
      return { trace, request: r };
    }
    if (s.kind === 'wait') {
      trace.push(`wait ${s.ms}`);
      clock?.advance(s.ms);
      continue;
    }
    const name = b.members[s.member].name;
    const info = b.startAttempt(r, s.member);
    if (info === null) {
      trace.push(`${name} busy`);
      continue;
    }
    trace.push(name);
    b.endAttempt(r, s.member, respond(name, r));
  }
}

/** Starts a request and its first attempt, leaving it in flight; returns the request and member index. */
export function hold(b: Balancer, v: RequestView = view()): { r: LbRequest; member: number; info: AttemptInfo } {
  const r = b.begin(v);
  const s = b.next(r);
  if (s.kind !== 'attempt') throw new Error(`expected an attempt, got ${JSON.stringify(s)}`);
  const info = b.startAttempt(r, s.member);
  if (info === null) throw new Error('attempt refused as busy');
  return { r, member: s.member, info };
}
