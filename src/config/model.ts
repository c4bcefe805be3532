/**
 * The typed, immutable configuration model built from workers.properties and
 * uriworkermap.properties. Every other part of jkbalancer reads this; nothing here does I/O.
 *
 * Units follow mod_jk: names ending in `Ms` are milliseconds, `Sec` seconds.
 */

/** Where a value came from, so every error and every `check` line can name file and line. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
}

export type Activation = 'ACT' | 'DIS' | 'STP';
export type LbMethod = 'Request' | 'Traffic' | 'Busyness' | 'Sessions' | 'Next';
export type LbLock = 'Optimistic' | 'Pessimistic';
export type MemberType = 'ajp13' | 'http';

/** CPing/CPong probing (ajp13) or health probing (http) as set by `ping_mode` and the *_timeout directives. */
export interface PingConfig {
  /** ms; 0 = off. CPing right after connect (mode C or connect_timeout > 0). */
  readonly connectTimeoutMs: number;
  /** ms; 0 = off. CPing before each request (mode P or prepost_timeout > 0). */
  readonly prepostTimeoutMs: number;
  /** s; 0 = off. Probe idle pooled connections at maintenance (mode I or connection_ping_interval > 0). */
  readonly intervalSec: number;
  /** ms; default 10000. */
  readonly pingTimeoutMs: number;
  /** The raw ping_mode letters as configured ('' if none). */
  readonly mode: string;
}

/** How a health check asks (jkbalancer addition): an HTTP method, or TCP for a connect alone. */
export type HealthCheckMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'TCP';

/**
 * Active health checks of a member (jkbalancer addition, `worker.X.health_check_*`): probes on
 * connections of their own, whose results move the member in and out of ERROR.
 */
export interface HealthCheckConfig {
  readonly method: HealthCheckMethod;
  /** Request target of an HTTP check (origin-form, or `*` for OPTIONS). */
  readonly uri: string;
  /** `Host` of an HTTP check; '' = the member's host:port. */
  readonly host: string;
  /** Statuses that pass, as inclusive [low, high] ranges. */
  readonly expect: readonly (readonly [number, number])[];
  /** Text the reply body must contain ('' = no body check). */
  readonly body: string;
  /** ms between checks while they pass. */
  readonly intervalMs: number;
  /** ms between checks while the last one failed or the member is in error. */
  readonly failIntervalMs: number;
  /** ms a check may take, connect included. */
  readonly timeoutMs: number;
  /** Failed checks in a row that put the member in ERROR. */
  readonly fails: number;
  /** Passed checks in a row that bring a member in error back. */
  readonly passes: number;
}

/** A member of an lb worker (mod_jk "sub worker"): an ajp13 or http backend. */
export interface MemberConfig {
  readonly name: string;
  readonly type: MemberType;
  /** Backend host as configured (resolved by the transport when connecting). */
  readonly host: string;
  /** 0 disables contact: the member is forced to Stopped, as mod_jk does. */
  readonly port: number;
  /** http members only: speak TLS to the backend (`worker.X.tls=true`). */
  readonly tls: boolean;
  /** Local address for outgoing connections ('' = any). */
  readonly source: string;

  // Balancing attributes (docs/directives.md#member-balancing)
  readonly lbfactor: number;
  readonly distance: number;
  readonly route: string;
  /** Explicit domain, or derived from the route's part before its first '.'. */
  readonly domain: string;
  /** Route (not name) of the failover member; '' = none. */
  readonly redirect: string;
  readonly activation: Activation;

  // Connection attributes (docs/directives.md#member-connection)
  readonly socketTimeoutSec: number;
  readonly socketConnectTimeoutMs: number;
  readonly socketKeepalive: boolean;
  readonly connectionPoolSize: number;
  readonly connectionPoolMinsize: number;
  readonly connectionPoolTimeoutSec: number;
  readonly connectionAcquireTimeoutMs: number;
  readonly ping: PingConfig;
  /** ms; 0 = none. Max wait for the first byte and between chunks of the reply. */
  readonly replyTimeoutMs: number;
  /** Attempts on this same member within one lb attempt (first included), ≥ 1. */
  readonly retries: number;
  readonly retryIntervalMs: number;
  /** Bit mask, see mod_jk recovery_options. */
  readonly recoveryOptions: number;
  /** Positive: discard reply, member → ERROR. Negative: discard reply, fail over, member state unaffected. */
  readonly failOnStatus: readonly number[];
  /** 0 = unlimited. */
  readonly busyLimit: number;
  /** AJP packet size, rounded up to 1024, clamped to [8192, 65536]. Also sizes the request-body replay buffer. */
  readonly maxPacketSize: number;
  /** AJP shared secret ('' = none); inherited from the lb's `secret` if the member has none. */
  readonly secret: string;

  // jkbalancer additions (drain policy, issue 6). 0 = off.
  /** A disabled member moves itself to stopped after this many seconds without sticky traffic. */
  readonly drainIdleSec: number;
  /** A disabled member moves itself to stopped at most this many seconds after being disabled. */
  readonly drainDeadlineSec: number;
  /** Active health checks (`health_check_method`); null = none. */
  readonly healthCheck: HealthCheckConfig | null;

  readonly source_ref: SourceRef;
}

export interface LbConfig {
  readonly name: string;
  readonly type: 'lb';
  /** In balance_workers order: index = member index (tie-breaks, status val<n>). */
  readonly members: readonly MemberConfig[];
  readonly stickySession: boolean;
  readonly stickySessionForce: boolean;
  readonly method: LbMethod;
  readonly lock: LbLock;
  /** Balancing rounds (≥ 1). */
  readonly retries: number;
  /** Max member attempts per round (≥ 1). */
  readonly lbRetries: number;
  readonly retryIntervalMs: number;
  readonly recoverTimeSec: number;
  readonly errorEscalationTimeSec: number;
  readonly maxReplyTimeouts: number;
  readonly sessionCookie: string;
  /** Including the leading ';' (default ';jsessionid'). */
  readonly sessionPath: string;
  readonly setSessionCookie: boolean;
  readonly sessionCookiePath: string;
  readonly secret: string;
  /** Patterns from `worker.<lb>.mount` (only for workers in worker.list). */
  readonly mounts: readonly string[];
  /** Drain-progress window (jkbalancer addition, `worker.<lb>.drain_window`, seconds, default 600). */
  readonly drainWindowSec: number;
  readonly source_ref: SourceRef;
}

export interface StatusConfig {
  readonly name: string;
  readonly type: 'status';
  readonly css: string;
  readonly prefix: string;
  readonly ns: string;
  readonly xmlns: string;
  readonly doctype: string;
  readonly readOnly: boolean;
  readonly users: readonly string[];
  readonly userCaseInsensitive: boolean;
  /** Rating masks (docs/status-worker.md#rating). */
  readonly goodMask: number;
  readonly badMask: number;
  readonly mounts: readonly string[];
  readonly source_ref: SourceRef;
}

/** A standalone (non-member) ajp13/http worker named in worker.list. */
export interface StandaloneConfig extends MemberConfig {
  readonly mounts: readonly string[];
}

export type WorkerConfig = LbConfig | StatusConfig | StandaloneConfig;

export interface WorkersConfig {
  readonly file: string;
  /** worker.maintain in seconds (default 60; 0 disables maintenance). */
  readonly maintainSec: number;
  /** worker.list, in order. */
  readonly list: readonly string[];
  /** Workers of worker.list by name. */
  readonly workers: ReadonlyMap<string, WorkerConfig>;
  /** Every property after substitution and reference resolution, in file order (for `cmd=dump`). */
  readonly properties: readonly (readonly [string, string])[];
}

/**
 * Per-rule overrides from uriworkermap `worker;name=value` extensions
 * (docs/uri-mapping.md#rule-extensions).
 */
export interface RuleExtensions {
  /** ms; -1 = unset. */
  readonly replyTimeoutMs: number;
  readonly stickyIgnore: boolean;
  readonly stateless: boolean;
  /** Member names given a per-request activation override. */
  readonly active: readonly string[];
  readonly disabled: readonly string[];
  readonly stopped: readonly string[];
  /** null = use the member's list. */
  readonly failOnStatus: readonly number[] | null;
  /** 0 = off. */
  readonly useServerErrors: number;
  /** null = use the lb's. */
  readonly sessionCookie: string | null;
  readonly sessionPath: string | null;
  readonly setSessionCookie: boolean;
  readonly sessionCookiePath: string | null;
}

export type MountSource = 'uriworkermap' | 'JkMount' | 'worker definition';

export interface MountRule {
  /** Pattern without the '-' / '!' prefixes. */
  readonly pattern: string;
  readonly worker: string;
  readonly disabled: boolean;
  readonly exclusion: boolean;
  /** Contains '*' or '?'. */
  readonly wildchar: boolean;
  readonly source: MountSource;
  readonly ext: RuleExtensions;
  readonly source_ref: SourceRef;
}

/** The sorted rule list plus the matcher (docs/uri-mapping.md#precedence). */
export interface MountMap {
  readonly rules: readonly MountRule[];
  /** Normalised path → best rule, or null (no rule, or vetoed by an exclusion). */
  match(path: string): MountRule | null;
}

/** A configuration problem, always with its place. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  /** The directive (key) concerned, e.g. `worker.n1.lbfactor`. */
  readonly directive: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}
