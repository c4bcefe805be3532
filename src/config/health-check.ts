/**
 * A member's active health checks from its `health_check_*` directives (jkbalancer addition, README
 * "Health checks"). Without `health_check_method` there are none, and the other directives are
 * reported as having no effect. Bad values are errors: these directives are jkbalancer's own, so
 * there is no mod_jk fallback to keep.
 */
import { HEALTH_CHECK_DIRECTIVES } from './directives.js';
import type { HealthCheckConfig, HealthCheckMethod, MemberType } from './model.js';
import { parseIntStrict, splitList } from './values.js';
import type { WorkerProps } from './worker-props.js';

const METHODS: readonly HealthCheckMethod[] = ['GET', 'HEAD', 'OPTIONS', 'TCP'];

/** Defaults close to HAProxy's (`fall 3`, `rise 2`); the interval is gentler on a farm of many members. */
export const HEALTH_CHECK_DEFAULTS = Object.freeze({
  uri: '/',
  expect: Object.freeze([Object.freeze([200, 399] as const)]),
  intervalMs: 10_000,
  timeoutMs: 5_000,
  fails: 3,
  passes: 2,
});

/** Checks more often than this are a mistake (a typo of seconds for ms), not a wish. */
const MIN_INTERVAL_MS = 100;

/** A request target a check may send: origin-form without spaces or control characters. */
const URI = /^\/[\x21-\x7e]*$/;
/** A Host value: a name or address with an optional port, nothing a header could be split with. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(:\d{1,5})?$/;

export interface StatusRanges {
  readonly ranges: [number, number][];
  /** Items that are neither a status nor a `low-high` range of statuses (100–599). */
  readonly bad: string[];
}

/** `200-399, 401` → [[200, 399], [401, 401]]. */
export function parseStatusRanges(s: string): StatusRanges {
  const ranges: [number, number][] = [];
  const bad: string[] = [];
  for (const item of splitList(s)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    const low = m ? parseIntStrict(m[1]) : null;
    const high = m ? (m[2] === undefined ? low : parseIntStrict(m[2])) : null;
    if (low === null || high === null || low < 100 || high > 599 || low > high) bad.push(item);
    else ranges.push([low, high]);
  }
  return { ranges, bad };
}

/** A whole number of at least `min`; anything else is an error and the default stands. */
function readInt(p: WorkerProps, directive: string, def: number, min: number): number {
  const e = p.entry(directive);
  if (!e) return def;
  const n = parseIntStrict(e.value);
  if (n === null) p.error(e, `'${e.value}' is not an integer`);
  else if (n < min) p.error(e, `${n} is below the minimum ${min}`);
  else return n;
  return def;
}

function readMethod(p: WorkerProps, type: MemberType): HealthCheckMethod | null {
  const e = p.entry('health_check_method');
  if (!e) return null;
  const method = METHODS.find((m) => m === e.value.toUpperCase());
  if (method === undefined) {
    p.error(e, `unknown health check method '${e.value}' (expected GET, HEAD, OPTIONS or TCP)`);
    return null;
  }
  if (type === 'ajp13' && method !== 'TCP') {
    p.error(e, `${method} checks need a type=http member; an ajp13 member can be checked with TCP (or CPing: ping_mode)`);
    return null;
  }
  return method;
}

function readUri(p: WorkerProps, method: HealthCheckMethod): string {
  const e = p.entry('health_check_uri');
  if (!e) return HEALTH_CHECK_DEFAULTS.uri;
  if (URI.test(e.value) || (method === 'OPTIONS' && e.value === '*')) return e.value;
  p.error(e, `'${e.value}' is not a request path (it must start with '/' and hold no spaces or control characters)`);
  return HEALTH_CHECK_DEFAULTS.uri;
}

function readHost(p: WorkerProps): string {
  const e = p.entry('health_check_host');
  if (!e) return '';
  if (HOST.test(e.value)) return e.value;
  p.error(e, `'${e.value}' is not a Host value (a name or address, optionally with ':port')`);
  return '';
}

function readExpect(p: WorkerProps): HealthCheckConfig['expect'] {
  const e = p.entry('health_check_expect');
  if (!e) return HEALTH_CHECK_DEFAULTS.expect;
  const { ranges, bad } = parseStatusRanges(e.value);
  if (bad.length > 0) p.error(e, `${bad.map((b) => `'${b}'`).join(', ')}: expected HTTP statuses (100–599) or ranges such as 200-399`);
  if (ranges.length === 0) {
    if (bad.length === 0) p.error(e, 'no status given (expected e.g. 200-399)');
    return HEALTH_CHECK_DEFAULTS.expect;
  }
  return Object.freeze(ranges.map((r) => Object.freeze(r)));
}

/** Directives that mean nothing for this method, reported as warnings. */
function warnUnused(p: WorkerProps, method: HealthCheckMethod | null): void {
  for (const d of HEALTH_CHECK_DIRECTIVES) {
    const e = p.entry(d);
    if (!e || d === 'health_check_method') continue;
    if (method === null) p.warn(e, 'has no effect without health_check_method');
    else if (method === 'TCP' && (d === 'health_check_uri' || d === 'health_check_host' || d === 'health_check_expect' || d === 'health_check_body')) {
      p.warn(e, 'has no effect with health_check_method=TCP (a connect alone)');
    }
  }
}

/**
 * The member's health checks, or null when it has none. A method that is not valid is reported and
 * gives none (the configuration is refused anyway).
 */
export function readHealthCheck(p: WorkerProps, type: MemberType): HealthCheckConfig | null {
  const method = readMethod(p, type);
  // An invalid method is reported already; its companions need no second word.
  if (method === null && p.has('health_check_method')) return null;
  warnUnused(p, method);
  if (method === null) return null;
  const intervalMs = readInt(p, 'health_check_interval', HEALTH_CHECK_DEFAULTS.intervalMs, MIN_INTERVAL_MS);
  const body = p.string('health_check_body', '');
  const bodyEntry = p.entry('health_check_body');
  if (bodyEntry && method === 'HEAD') p.error(bodyEntry, 'a HEAD reply has no body to look in (use GET)');
  return Object.freeze({
    method,
    uri: readUri(p, method),
    host: readHost(p),
    expect: readExpect(p),
    body: method === 'TCP' ? '' : body,
    intervalMs,
    failIntervalMs: readInt(p, 'health_check_fail_interval', intervalMs, MIN_INTERVAL_MS),
    timeoutMs: readInt(p, 'health_check_timeout', HEALTH_CHECK_DEFAULTS.timeoutMs, 1),
    fails: readInt(p, 'health_check_fails', HEALTH_CHECK_DEFAULTS.fails, 1),
    passes: readInt(p, 'health_check_passes', HEALTH_CHECK_DEFAULTS.passes, 1),
  } satisfies HealthCheckConfig);
}
