/**
 * Building one ajp13 / http worker (an lb member or a standalone worker) from its directives
 * (docs/directives.md#member-balancing, #member-connection), with mod_jk's defaults and derived values.
 *
 * `type=http` (jkbalancer's HTTP/1.1 member) reads the same directives as ajp13, with these
 * differences: `tls=true` speaks HTTPS to the backend (default port 443, else 80; `tls` on an
 * ajp13 worker is an error); `secret` is AJP-only and ignored with a warning (an lb `secret` is
 * simply not passed to http members); `max_packet_size` only sizes the request-body replay
 * buffer; `ping_mode` and the CPing timeouts are accepted (so AJP templates can be shared) and do
 * nothing: an http member is probed by the `health_check_*` directives (health-check.ts) instead.
 */
import { isIPv6 } from 'node:net';
import type { Activation, MemberConfig, MemberType, PingConfig, SourceRef } from './model.js';
import type { WorkerProps } from './worker-props.js';
import { readHealthCheck } from './health-check.js';
import { ACTIVATIONS, domainOfRoute, parseIntStrict, parsePingMode, roundPacketSize } from './values.js';

/**
 * mod_jk's default pool size is the web server's thread count per process (httpd: ThreadsPerChild,
 * often 25–150). jkbalancer is one event-loop process serving every client, so the default is one
 * value in that range that lets a single member take a busy site's concurrency without queueing.
 */
export const DEFAULT_POOL_SIZE = 64;
const DEFAULT_PING_TIMEOUT_MS = 10000;
const DEFAULT_PACKET_SIZE = 8192;

function defaultPort(type: MemberType, tls: boolean): number {
  if (type === 'ajp13') return 8009;
  return tls ? 443 : 80;
}

function readActivation(p: WorkerProps): Activation {
  if (p.has('activation')) return p.firstChar('activation', ACTIVATIONS, 'ACT', 'activation');
  // Deprecated flags, only when activation is absent; stopped is checked first
  // (docs/directives.md#member-balancing).
  if (p.bool('stopped', false)) return 'STP';
  if (p.bool('disabled', false)) return 'DIS';
  return 'ACT';
}

function readHost(p: WorkerProps): string {
  const host = p.string('host', 'localhost', true);
  const e = p.entry('host');
  if (e && host.includes(':') && !isIPv6(host.replace(/^\[|\]$/g, ''))) {
    p.invalid(e, `'${host}' is not a host name or address (set the port with ${p.key('port')})`, 'kept as mod_jk does; it will not resolve');
  }
  return host.replace(/^\[(.*)\]$/, '$1');
}

function readPing(p: WorkerProps): PingConfig {
  const pingTimeoutMs = p.int('ping_timeout', DEFAULT_PING_TIMEOUT_MS, { min: 0 });
  const modeEntry = p.entry('ping_mode');
  const mode = modeEntry?.value ?? '';
  const flags = parsePingMode(mode);
  if (modeEntry && flags.unknown !== '') {
    p.invalid(modeEntry, `unknown ping_mode letter(s) '${flags.unknown}' (expected C, P, I or A)`, 'ignored as mod_jk does');
  }
  const connect = p.int('connect_timeout', 0, { min: 0 });
  const prepost = p.int('prepost_timeout', 0, { min: 0 });
  const interval = p.int('connection_ping_interval', 0, { min: 0 });
  return Object.freeze({
    connectTimeoutMs: connect === 0 && flags.connect ? pingTimeoutMs : connect,
    prepostTimeoutMs: prepost === 0 && flags.prepost ? pingTimeoutMs : prepost,
    intervalSec: interval === 0 && flags.interval ? Math.floor(pingTimeoutMs / 100) : interval,
    pingTimeoutMs,
    mode,
  });
}

function readFailOnStatus(p: WorkerProps): number[] {
  const codes: number[] = [];
  const e = p.entry('fail_on_status');
  for (const { item } of p.list('fail_on_status')) {
    const n = parseIntStrict(item);
    if (n === null || Math.abs(n) < 100 || Math.abs(n) > 599) {
      p.invalid(e!, `'${item}' is not an HTTP status code (100–599, negative to fail over only)`, 'ignored');
      continue;
    }
    codes.push(n);
  }
  return codes;
}

function readPool(p: WorkerProps): { size: number; min: number; timeout: number } {
  const sizeKey = p.has('connection_pool_size') || !p.has('cachesize') ? 'connection_pool_size' : 'cachesize';
  const size = p.int(sizeKey, DEFAULT_POOL_SIZE, { min: 1 });
  let min = p.int('connection_pool_minsize', Math.floor((size + 1) / 2), { min: 0 });
  const minEntry = p.entry('connection_pool_minsize');
  if (minEntry && min > size) {
    p.warn(minEntry, `${min} exceeds connection_pool_size ${size}; using ${size}`);
    min = size;
  }
  const timeoutKey = p.has('connection_pool_timeout') || !p.has('cache_timeout') ? 'connection_pool_timeout' : 'cache_timeout';
  const timeout = p.int(timeoutKey, 0, { min: 0 });
  return { size, min, timeout };
}

function readPacketSize(p: WorkerProps): number {
  const n = p.int('max_packet_size', DEFAULT_PACKET_SIZE, { min: 0 });
  const size = roundPacketSize(n);
  const e = p.entry('max_packet_size');
  if (e && size !== n) p.warn(e, `${n} used as ${size} (a multiple of 1024 within 8192–65536)`);
  return size;
}

/**
 * Reads the worker `p` of type `type`. `lbSecret` is the balancer's `secret`, inherited by ajp13
 * members without their own. `fallbackRef` is used when the worker has no property at all.
 */
export function buildMember(p: WorkerProps, type: MemberType, lbSecret: string, fallbackRef: SourceRef): MemberConfig {
  const tls = p.bool('tls', false);
  const tlsEntry = p.entry('tls');
  if (type === 'ajp13' && tlsEntry) p.error(tlsEntry, 'tls applies to type=http members only');

  const host = readHost(p);
  const port = p.int('port', defaultPort(type, tls), { min: 0, max: 65535 });
  const route = p.has('route') || !p.has('jvm_route') ? p.string('route', p.name, true) : p.string('jvm_route', p.name, true);
  const ownDomain = p.string('domain', '', true);
  const domain = ownDomain !== '' ? ownDomain : domainOfRoute(route);
  const activation = readActivation(p);

  const socketTimeoutSec = p.int('socket_timeout', 0, { min: 0 });
  const pool = readPool(p);
  const retries = p.int('retries', 2, { clampMin: 1 });
  const retryIntervalMs = p.int('retry_interval', 100, { min: 0 });

  const ownSecret = p.string('secret', '');
  const secretEntry = p.entry('secret');
  if (type === 'http' && secretEntry) p.warn(secretEntry, 'secret is an AJP setting; ignored for type=http');

  return Object.freeze({
    name: p.name,
    type,
    host,
    port,
    tls,
    source: p.string('source', '', true),
    lbfactor: p.int('lbfactor', 1, { clampMin: 1 }),
    distance: p.int('distance', 0),
    route,
    domain,
    redirect: p.string('redirect', '', true),
    // Port 0 means "do not contact": mod_jk forces such a member to Stopped.
    activation: port === 0 ? 'STP' : activation,
    socketTimeoutSec,
    socketConnectTimeoutMs: p.int('socket_connect_timeout', socketTimeoutSec * 1000, { min: 0 }),
    socketKeepalive: p.bool('socket_keepalive', false),
    connectionPoolSize: pool.size,
    connectionPoolMinsize: pool.min,
    connectionPoolTimeoutSec: pool.timeout,
    connectionAcquireTimeoutMs: p.int('connection_acquire_timeout', retries * retryIntervalMs, { min: 0 }),
    ping: readPing(p),
    replyTimeoutMs: p.int('reply_timeout', 0, { min: 0 }),
    retries,
    retryIntervalMs,
    recoveryOptions: p.int('recovery_options', 0, { min: 0 }),
    failOnStatus: Object.freeze(readFailOnStatus(p)),
    busyLimit: p.int('busy_limit', 0, { min: 0 }),
    maxPacketSize: readPacketSize(p),
    secret: type === 'http' ? '' : ownSecret !== '' ? ownSecret : lbSecret,
    drainIdleSec: p.int('drain_idle_time', 0, { min: 0 }),
    drainDeadlineSec: p.int('drain_deadline', 0, { min: 0 }),
    healthCheck: readHealthCheck(p, type),
    source_ref: p.sourceRef(fallbackRef),
  } satisfies MemberConfig);
}
