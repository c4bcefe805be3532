/**
 * Directive name tables for workers.properties (docs/directives.md).
 * mod_jk accepts a `worker.*` key when it ends in `.` + one of these names (pure suffix test).
 */

/**
 * jkbalancer's active health checks of a member (README "Health checks"); single-valued. Read by
 * health-check.ts.
 */
export const HEALTH_CHECK_DIRECTIVES = [
  'health_check_method', 'health_check_uri', 'health_check_host', 'health_check_expect', 'health_check_body',
  'health_check_interval', 'health_check_fail_interval', 'health_check_timeout', 'health_check_fails',
  'health_check_passes',
] as const;

/** Directives whose repeated lines replace the earlier value (docs/directives.md#repeated-keys). */
const UNIQUE = [
  'secret', 'reference', 'host', 'source', 'port', 'type', 'cachesize', 'connection_pool_size',
  'connection_pool_minsize', 'cache_timeout', 'connection_pool_timeout', 'connection_acquire_timeout',
  'recovery_options', 'connect_timeout', 'prepost_timeout', 'ping_timeout', 'ping_mode', 'reply_timeout',
  'socket_timeout', 'socket_connect_timeout', 'socket_buffer', 'socket_keepalive', 'connection_ping_interval',
  'recycle_timeout', 'lbfactor', 'sticky_session', 'sticky_session_force', 'session_cookie', 'session_path',
  'set_session_cookie', 'session_cookie_path', 'local_worker', 'local_worker_only', 'jvm_route', 'route',
  'domain', 'redirect', 'method', 'lock', 'disabled', 'stopped', 'activation', 'recover_time',
  'error_escalation_time', 'max_reply_timeouts', 'retry_interval', 'busy_limit', 'max_packet_size', 'css',
  'read_only', 'retries', 'lb_retries', 'ns', 'xmlns', 'doctype', 'prefix', 'user_case_insensitive',
  'prefer_ipv6',
  // jkbalancer additions: single-valued, so they behave like mod_jk's unique directives.
  'tls', 'drain_idle_time', 'drain_deadline', 'drain_window', ...HEALTH_CHECK_DIRECTIVES,
] as const;

/** Directives whose repeated lines accumulate (joined with ','). */
const LISTS = ['list', 'balance_workers', 'mount', 'user', 'good', 'bad', 'fail_on_status'] as const;

/**
 * mod_jk names that are honoured under a newer name
 * (docs/directives.md#deprecated-and-ignored-names); value = the replacement.
 */
export const DEPRECATED: ReadonlyMap<string, string> = new Map([
  ['balanced_workers', 'balance_workers'],
  ['jvm_route', 'route'],
  ['disabled', 'activation'],
  ['stopped', 'activation'],
  ['cachesize', 'connection_pool_size'],
  ['cache_timeout', 'connection_pool_timeout'],
]);

/**
 * Accepted for compatibility and ignored (docs/directives.md#deprecated-and-ignored-names, plus
 * mod_jk knobs jkbalancer has no use for).
 */
export const IGNORED: ReadonlyMap<string, string> = new Map([
  ['recycle_timeout', 'deprecated in mod_jk'],
  ['local_worker', 'deprecated in mod_jk'],
  ['local_worker_only', 'deprecated in mod_jk'],
  ['sysprops', 'JNI-era legacy'],
  ['stdout', 'JNI-era legacy'],
  ['stderr', 'JNI-era legacy'],
  ['mx', 'JNI-era legacy'],
  ['ms', 'JNI-era legacy'],
  ['class_path', 'JNI-era legacy'],
  ['bridge', 'JNI-era legacy'],
  ['jvm_lib', 'JNI-era legacy'],
  ['ld_path', 'JNI-era legacy'],
  ['cmd_line', 'JNI-era legacy'],
  ['native_lib', 'JNI-era legacy'],
  ['secretkey', 'ajp14 only'],
  ['socket_buffer', 'the OS default socket buffers are used'],
  ['prefer_ipv6', 'the host is resolved by the operating system resolver'],
]);

const OTHER = ['maintain', 'distance', 'balanced_workers'] as const;

const SUPPORTED: ReadonlySet<string> = new Set<string>([
  ...UNIQUE, ...LISTS, ...OTHER, ...DEPRECATED.keys(), ...IGNORED.keys(),
]);
const UNIQUE_SET: ReadonlySet<string> = new Set<string>(UNIQUE);
const LIST_SET: ReadonlySet<string> = new Set<string>(LISTS);

/** Directives each worker type reads; anything else on a created worker has no effect. */
const COMMON = ['type', 'reference', 'mount'];
const LB = [
  'balance_workers', 'balanced_workers', 'sticky_session', 'sticky_session_force', 'method', 'lock', 'retries',
  'lb_retries', 'retry_interval', 'recover_time', 'error_escalation_time', 'max_reply_timeouts', 'session_cookie',
  'session_path', 'set_session_cookie', 'session_cookie_path', 'secret', 'drain_window',
];
const MEMBER = [
  'host', 'port', 'source', 'socket_timeout', 'socket_connect_timeout', 'socket_keepalive',
  'connection_pool_size', 'cachesize', 'connection_pool_minsize', 'connection_pool_timeout', 'cache_timeout',
  'connection_acquire_timeout', 'ping_mode', 'ping_timeout', 'connect_timeout', 'prepost_timeout',
  'connection_ping_interval', 'reply_timeout', 'retries', 'retry_interval', 'recovery_options', 'fail_on_status',
  'busy_limit', 'max_packet_size', 'secret', 'lbfactor', 'distance', 'route', 'jvm_route', 'domain', 'redirect',
  'activation', 'disabled', 'stopped', 'drain_idle_time', 'drain_deadline', 'tls', ...HEALTH_CHECK_DIRECTIVES,
];
const STATUS = ['css', 'prefix', 'ns', 'xmlns', 'doctype', 'read_only', 'user', 'user_case_insensitive', 'good', 'bad'];

export const DIRECTIVES_BY_TYPE: Readonly<Record<'lb' | 'member' | 'status', ReadonlySet<string>>> = {
  lb: new Set([...COMMON, ...LB]),
  member: new Set([...COMMON, ...MEMBER]),
  status: new Set([...COMMON, ...STATUS]),
};

/** The directive part of a `worker.…` key: the text after the last '.'. */
export function directiveOf(key: string): string {
  return key.slice(key.lastIndexOf('.') + 1);
}

/** The worker-name part of `worker.<name>.<directive>` ('' for the global keys). */
export function workerNameOf(key: string): string {
  const last = key.lastIndexOf('.');
  return last > 'worker.'.length ? key.slice('worker.'.length, last) : '';
}

export function isWorkerKey(key: string): boolean {
  return key.startsWith('worker.');
}

/**
 * docs/directives.md#validation-and-bad-values: a `worker.*` key is valid when it ends in '.' + a
 * supported name (case-sensitive).
 */
export function isSupportedKey(key: string): boolean {
  const last = key.lastIndexOf('.');
  return last >= 0 && SUPPORTED.has(key.slice(last + 1));
}

export type RepeatMode = 'replace' | 'accumulate' | 'join';

/**
 * How mod_jk's "duplicates" mode treats a repeated key (docs/directives.md#repeated-keys): a suffix
 * test on any key.
 */
export function repeatModeOf(key: string): RepeatMode {
  const last = key.lastIndexOf('.');
  if (last < 0) return 'join';
  const d = key.slice(last + 1);
  if (UNIQUE_SET.has(d)) return 'replace';
  if (LIST_SET.has(d)) return 'accumulate';
  return 'join';
}

/** The separator mod_jk puts between repeated values of a 'join' key. */
export function joinSeparatorOf(key: string): string {
  if (key.endsWith('_path')) return ':';
  if (key.endsWith('.cmd_line')) return ' ';
  return '*';
}
