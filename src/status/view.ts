/**
 * The data every output format prints, built once per request from the live runtime objects:
 * ordered fields with mod_jk's key names (docs/status-worker.md#output-formats) plus what the HTML
 * and JSON need on top. Formatters only arrange and quote these; they never read the runtime
 * themselves.
 */
import type { MountMap, MountRule, StandaloneConfig } from '../config/model.js';
import type { Balancer } from '../routing/balancer.js';
import type { MemberRuntime } from '../routing/member.js';
import { ACT_NAMES, METHOD_NAMES, State, STATE_NAMES } from '../routing/types.js';
import { LOCK_NAMES } from '../routing/attributes.js';
import { lbOverrides, memberOverrides, type Overrides } from './attributes.js';
import { rateMember, type Rating } from './rating.js';
import { datetimeText, secondsBetween, timezoneText, unixSeconds } from './timefmt.js';

export type FieldValue = string | number | boolean;
export interface Field {
  readonly key: string;
  readonly value: FieldValue;
}

export interface MapView {
  readonly rule: MountRule;
  readonly fields: readonly Field[];
}

/** A member's active health checks and their last result (README "Health checks"); JSON keys. */
export interface HealthView {
  readonly method: string;
  /** Request target; null for TCP checks. */
  readonly uri: string | null;
  /** The checks' verdict: false once `fails` failed in a row, true again after `passes` passed. */
  readonly up: boolean;
  readonly last_result: 'ok' | 'fail' | null;
  readonly last_check_unix_seconds: number | null;
  readonly last_check_ago: number | null;
  readonly latency_ms: number | null;
  /** Why the last check failed ('' when it passed). */
  readonly reason: string;
  readonly consecutive_passes: number;
  readonly consecutive_fails: number;
  readonly passes_total: number;
  readonly fails_total: number;
}

export interface MemberView {
  readonly runtime: MemberRuntime;
  /** In mod_jk's xml attribute order, then `overrides`. */
  readonly fields: readonly Field[];
  readonly overrides: Overrides;
  readonly rating: Rating;
  readonly timeToRecover: readonly [number, number];
  /** From StatusContext.getMemberExtras (JSON only). */
  readonly extras: Record<string, unknown>;
  /** null when the member has no health checks. */
  readonly health: HealthView | null;
}

export interface LbView {
  readonly balancer: Balancer;
  /** In mod_jk's order, then `overrides`. */
  readonly fields: readonly Field[];
  readonly overrides: Overrides;
  /** Every member, or only the one asked for with `show&sw=`; empty when hidden by opt. */
  readonly members: readonly MemberView[];
  /** The shown member when `sw` selected one. */
  readonly selected: MemberView | null;
  readonly maps: readonly MapView[] | null;
  readonly good: number;
  readonly degraded: number;
  readonly bad: number;
  readonly timeToMaintenance: readonly [number, number];
}

export interface AjpView {
  readonly config: StandaloneConfig;
  readonly fields: readonly Field[];
  readonly maps: readonly MapView[] | null;
}

export interface ViewOptions {
  readonly nowMs: number;
  readonly goodMask: number;
  readonly badMask: number;
  readonly mounts: MountMap;
  readonly hideMembers: boolean;
  readonly hideMaps: boolean;
  /** Process start: the "last reset" of standalone workers, whose counters we do not keep. */
  readonly startTime: number;
  readonly getMemberExtras?: (lb: Balancer, member: MemberRuntime) => object;
}

const f = (key: string, value: FieldValue): Field => ({ key, value });

/** `host:port`, or mod_jk's `invalid` for a member whose port is 0 (contact disabled). */
export function addressOf(host: string, port: number): string {
  if (port <= 0) return 'invalid';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A worker's maps are the rules whose worker is that worker or `*`
 * (docs/status-worker.md#output-formats), in match order.
 */
export function rulesFor(worker: string, mounts: MountMap): MountRule[] {
  return mounts.rules.filter((r) => r.worker === worker || r.worker === '*');
}

function matchType(r: MountRule): string {
  return (r.disabled ? 'Disabled ' : '') + (r.exclusion ? 'Unmount ' : '') + (r.wildchar ? 'Wildchar' : 'Exact');
}

/**
 * A map's `server`: mod_jk names the httpd virtual host whose mounts it lists. jkbalancer has no
 * virtual hosts, every mount applies whatever the request's Host, which `*` says.
 */
const ANY_SERVER = '*';

export function mapViews(worker: string, mounts: MountMap): MapView[] {
  return rulesFor(worker, mounts).map((rule, i) => ({
    rule,
    fields: [
      f('id', i + 1),
      f('server', ANY_SERVER),
      f('uri', rule.pattern),
      f('type', matchType(rule)),
      f('source', rule.source),
      f('reply_timeout', rule.ext.replyTimeoutMs),
      f('sticky_ignore', rule.ext.stickyIgnore ? 1 : 0),
      f('stateless', rule.ext.stateless ? 1 : 0),
      f('fail_on_status', rule.ext.failOnStatus ? rule.ext.failOnStatus.join(',') : ''),
      f('active', rule.ext.active.join(',')),
      f('disabled', rule.ext.disabled.join(',')),
      f('stopped', rule.ext.stopped.join(',')),
      f('use_server_errors', rule.ext.useServerErrors),
    ],
  }));
}

/**
 * A worker's `source` when no source address is set: mod_jk prints this word in every format
 * (jk_status.c), and scripts reading its xml/txt/prop compare against it. JSON says null.
 */
const NO_SOURCE = 'undefined';

/** Connection attributes shared by members and standalone workers, mod_jk's xml order. */
function connectionFields(
  name: string,
  type: string,
  host: string,
  port: number,
  source: string,
  c: {
    poolTimeout: number; ping: number; connect: number; prepost: number; reply: number;
    pingInterval: number; retries: number; recovery: number; busyLimit: number; packet: number;
  },
): Field[] {
  return [
    f('name', name),
    f('type', type),
    f('host', host),
    f('port', port),
    f('address', addressOf(host, port)),
    f('source', source === '' ? NO_SOURCE : source),
    f('connection_pool_timeout', c.poolTimeout),
    f('ping_timeout', c.ping),
    f('connect_timeout', c.connect),
    f('prepost_timeout', c.prepost),
    f('reply_timeout', c.reply),
    f('connection_ping_interval', c.pingInterval),
    f('retries', c.retries),
    f('recovery_options', c.recovery),
    f('busy_limit', c.busyLimit),
    f('max_packet_size', c.packet),
  ];
}

function errorTimeFields(errorMs: number, nowMs: number): Field[] {
  if (errorMs <= 0) return [];
  return [
    f('error_time_datetime', datetimeText(errorMs)),
    f('error_time_tz', timezoneText(errorMs)),
    f('error_time_unix_seconds', unixSeconds(errorMs)),
    f('error_time_ago', secondsBetween(errorMs, nowMs)),
  ];
}

export const overridesText = (o: Overrides) => Object.keys(o).join(',');

function healthView(m: MemberRuntime, nowMs: number): HealthView | null {
  const cfg = m.config.healthCheck;
  const h = m.health;
  if (cfg === null || h === null) return null;
  const checked = h.lastTime > 0;
  return {
    method: cfg.method,
    uri: cfg.method === 'TCP' ? null : cfg.uri,
    up: h.up,
    last_result: checked ? (h.lastOk ? 'ok' : 'fail') : null,
    last_check_unix_seconds: checked ? unixSeconds(h.lastTime) : null,
    last_check_ago: checked ? secondsBetween(h.lastTime, nowMs) : null,
    latency_ms: checked ? Math.round(h.lastLatencyMs * 10) / 10 : null,
    reason: h.lastReason,
    consecutive_passes: h.consecutivePasses,
    consecutive_fails: h.consecutiveFails,
    passes_total: h.passesTotal,
    fails_total: h.failsTotal,
  };
}

function memberView(b: Balancer, m: MemberRuntime, msMin: number, opts: ViewOptions): MemberView {
  const now = opts.nowMs;
  let rs: [number, number] = [0, 0];
  if (m.state === State.ERROR) {
    const min = Math.max(0, b.lb.recoverTimeSec - secondsBetween(m.lastErrorTime, now));
    rs = [Math.max(min, msMin), min + b.maintainSec];
  }
  const overrides = memberOverrides(m);
  const fields = [
    ...connectionFields(m.name, m.config.type, m.host, m.port, m.config.source, {
      poolTimeout: m.connectionPoolTimeoutSec,
      ping: m.pingTimeoutMs,
      connect: m.connectTimeoutMs,
      prepost: m.prepostTimeoutMs,
      reply: m.replyTimeoutMs,
      pingInterval: m.connectionPingIntervalSec,
      retries: m.retries,
      recovery: m.recoveryOptions,
      busyLimit: m.busyLimit,
      packet: m.maxPacketSize,
    }),
    f('activation', ACT_NAMES[m.activation]),
    f('lbfactor', m.lbfactor),
    f('route', m.route),
    f('redirect', m.redirect),
    f('domain', m.domain),
    f('distance', m.distance),
    f('state', STATE_NAMES[m.state]),
    f('lbmult', m.lbMult),
    f('lbvalue', m.lbValue),
    f('elected', m.elected),
    f('sessions', m.sessions),
    f('errors', m.errors),
    f('client_errors', m.clientErrors),
    f('reply_timeouts', m.replyTimeouts),
    f('transferred', m.transferred),
    f('read', m.read),
    f('busy', m.busy),
    f('max_busy', m.maxBusy),
    f('connected', m.connected),
    f('max_connected', m.maxConnected),
    f('time_to_recover_min', rs[0]),
    f('time_to_recover_max', rs[1]),
    f('last_reset_at', unixSeconds(m.lastResetTime)),
    f('last_reset_ago', secondsBetween(m.lastResetTime, now)),
    ...errorTimeFields(m.firstErrorTime, now),
    f('overrides', overridesText(overrides)),
  ];
  return {
    runtime: m,
    fields,
    overrides,
    rating: rateMember(m.activation, m.state, opts.goodMask, opts.badMask),
    timeToRecover: rs,
    extras: { ...(opts.getMemberExtras?.(b, m) ?? {}) },
    health: healthView(m, now),
  };
}

/** `selected`: index of the one member to show (show&sw=), or null for all. */
export function lbView(b: Balancer, selected: number | null, opts: ViewOptions): LbView {
  const lb = b.lb;
  const now = opts.nowMs;
  const maintain = b.maintainSec;
  const sinceMaintain = secondsBetween(lb.lastMaintainTime, now);
  const msMin = Math.max(0, maintain - sinceMaintain);
  const msMax = Math.max(0, maintain - sinceMaintain + maintain);
  const all = b.members.map((m) => memberView(b, m, msMin, opts));
  const count = { good: 0, degraded: 0, bad: 0 };
  for (const mv of all) count[mv.rating]++;
  const maps = mapViews(lb.name, opts.mounts);
  const overrides = lbOverrides(lb);
  const fields = [
    f('name', lb.name),
    f('type', 'lb'),
    f('sticky_session', lb.stickySession),
    f('sticky_session_force', lb.stickySessionForce),
    f('retries', lb.retries),
    f('recover_time', lb.recoverTimeSec),
    f('error_escalation_time', lb.errorEscalationTimeSec),
    f('max_reply_timeouts', lb.maxReplyTimeouts),
    f('method', METHOD_NAMES[lb.method]),
    f('lock', LOCK_NAMES[lb.lock]),
    f('member_count', b.members.length),
    f('good', count.good),
    f('degraded', count.degraded),
    f('bad', count.bad),
    f('busy', lb.busy),
    f('max_busy', lb.maxBusy),
    f('map_count', maps.length),
    f('time_to_maintenance_min', msMin),
    f('time_to_maintenance_max', msMax),
    f('last_reset_at', unixSeconds(lb.lastResetTime)),
    f('last_reset_ago', secondsBetween(lb.lastResetTime, now)),
    f('overrides', overridesText(overrides)),
  ];
  const chosen = selected === null ? null : all[selected] ?? null;
  return {
    balancer: b,
    fields,
    overrides,
    members: opts.hideMembers ? [] : chosen ? [chosen] : all,
    selected: chosen,
    maps: opts.hideMaps ? null : maps,
    ...count,
    timeToMaintenance: [msMin, msMax],
  };
}

/**
 * A standalone ajp13/http worker of worker.list. jkbalancer's data path keeps no runtime counters
 * for these, so they print as configured with zero counters and the process start as last reset.
 */
export function ajpView(c: StandaloneConfig, opts: ViewOptions): AjpView {
  const maps = mapViews(c.name, opts.mounts);
  const fields = [
    ...connectionFields(c.name, c.type, c.host, c.port, c.source, {
      poolTimeout: c.connectionPoolTimeoutSec,
      ping: c.ping.pingTimeoutMs,
      connect: c.ping.connectTimeoutMs,
      prepost: c.ping.prepostTimeoutMs,
      reply: c.replyTimeoutMs,
      pingInterval: c.ping.intervalSec,
      retries: c.retries,
      recovery: c.recoveryOptions,
      busyLimit: c.busyLimit,
      packet: c.maxPacketSize,
    }),
    f('used', 0),
    f('errors', 0),
    f('client_errors', 0),
    f('reply_timeouts', 0),
    f('transferred', 0),
    f('read', 0),
    f('busy', 0),
    f('max_busy', 0),
    f('connected', 0),
    f('max_connected', 0),
    f('map_count', maps.length),
    f('last_reset_at', unixSeconds(opts.startTime)),
    f('last_reset_ago', secondsBetween(opts.startTime, opts.nowMs)),
    f('overrides', ''),
  ];
  return { config: c, fields, maps: opts.hideMaps ? null : maps };
}

/**
 * txt and prop print a connection worker's `retries` before `connection_ping_interval`
 * (docs/status-worker.md#output-formats).
 */
export function textOrder(fields: readonly Field[]): Field[] {
  const out = [...fields];
  const ping = out.findIndex((x) => x.key === 'connection_ping_interval');
  const retries = out.findIndex((x) => x.key === 'retries');
  if (ping >= 0 && retries === ping + 1) [out[ping], out[retries]] = [out[retries], out[ping]];
  return out;
}
