/**
 * The attributes the status worker can change (jkstatus update codes,
 * docs/status-worker.md#update-codes), in one table: the update code, the output/persistence key,
 * how a raw parameter is parsed and checked, how the current and the workers-file values are read,
 * and how a new value is applied to the runtime. The update command, the "overrides" display and
 * the persisted state all go through this table, so a field cannot be settable in one place and
 * forgotten in another.
 */
import type { Balancer, LbRuntime } from '../routing/balancer.js';
import { domainOfRoute, type MemberRuntime } from '../routing/member.js';
import { ACT_NAMES, METHOD_NAMES, type ActCode, type MethodCode } from '../routing/types.js';

export type AttrValue = string | number | boolean;

/** Largest integer mod_jk's `int` fields can hold; bigger numbers are refused as malformed. */
const INT_MAX = 2_147_483_647;
/** mod_jk keeps route, domain, redirect and host in 64-byte shared-memory strings. */
export const MAX_STRING_BYTES = 63;

export const LOCK_NAMES = ['Optimistic', 'Pessimistic'] as const;

/** Result of reading one raw parameter value as a new value (`unchanged`: it is the current value). */
export type Parsed = { kind: 'value'; value: AttrValue } | { kind: 'unchanged' } | { kind: 'invalid'; reason: string };

type ValueKind = 'int' | 'string' | 'activation' | 'bool' | 'method' | 'lock' | 'packet';

/**
 * What a value must satisfy beyond its syntax: the ranges mod_jk documents for each update code
 * (docs/status-worker.md#update-codes), plus the two strings a member cannot work without. Integers
 * (packet sizes after rounding to 1024): `min`…`max` inclusive. Strings: whether '' is accepted (it
 * clears a redirect or a domain; an empty route or host makes every request to the member fail).
 * Enumerations and booleans: none, their syntax is their range.
 */
type Range = { readonly min: number; readonly max: number } | { readonly nonEmpty: boolean } | null;

interface AttributeBase {
  /** Output / persistence key (txt key name). */
  readonly key: string;
  /** jkstatus update parameter name. */
  readonly code: string;
  readonly kind: ValueKind;
  readonly range: Range;
}

export interface MemberAttribute extends AttributeBase {
  /**
   * Accepted by the "one attribute for all members" form
   * (docs/status-worker.md#one-attribute-for-all-members): all but host and port.
   */
  readonly allMembers: boolean;
  current(m: MemberRuntime): AttrValue;
  configured(m: MemberRuntime): AttrValue;
}

export interface LbAttribute extends AttributeBase {
  current(lb: LbRuntime): AttrValue;
  configured(lb: LbRuntime): AttrValue;
}

/** `min` or more, up to what mod_jk's `int` holds. */
const atLeast = (min: number): Range => ({ min, max: INT_MAX });
const NONE: Range = null;

function memberInt(
  key: string,
  code: string,
  range: Range,
  prop: keyof MemberRuntime,
  configured: (m: MemberRuntime) => number,
): MemberAttribute {
  return { key, code, kind: 'int', range, allMembers: true, current: (m) => m[prop] as number, configured };
}

function memberString(key: string, code: string, prop: 'route' | 'redirect' | 'host', nonEmpty: boolean, allMembers = true): MemberAttribute {
  return { key, code, kind: 'string', range: { nonEmpty }, allMembers, current: (m) => m[prop], configured: (m) => m.config[prop] };
}

export const MEMBER_ATTRIBUTES: readonly MemberAttribute[] = [
  {
    key: 'activation',
    code: 'vwa',
    kind: 'activation',
    range: NONE,
    allMembers: true,
    current: (m) => ACT_NAMES[m.activation],
    // A member configured with port 0 is forced to Stopped at startup
    // (docs/directives.md#member-balancing): that is its file value.
    configured: (m) => (m.config.port === 0 ? 'STP' : m.config.activation),
  },
  memberInt('lbfactor', 'vwf', atLeast(1), 'lbfactor', (m) => m.config.lbfactor),
  memberString('route', 'vwn', 'route', true),
  memberString('redirect', 'vwr', 'redirect', false),
  {
    key: 'domain',
    code: 'vwc',
    kind: 'string',
    range: { nonEmpty: false },
    allMembers: true,
    current: (m) => m.domain,
    // An empty configured domain is derived from the route at startup (docs/directives.md#member-balancing).
    configured: (m) => m.config.domain || domainOfRoute(m.config.route),
  },
  memberInt('distance', 'vwd', atLeast(0), 'distance', (m) => m.config.distance),
  memberString('host', 'vahst', 'host', true, false),
  // Port 0 ("do not contact") exists only in the workers file, where it also stops the member.
  { ...memberInt('port', 'vaprt', { min: 1, max: 65535 }, 'port', (m) => m.config.port), allMembers: false },
  memberInt('connection_pool_timeout', 'vacpt', atLeast(0), 'connectionPoolTimeoutSec', (m) => m.config.connectionPoolTimeoutSec),
  memberInt('ping_timeout', 'vapng', atLeast(0), 'pingTimeoutMs', (m) => m.config.ping.pingTimeoutMs),
  memberInt('connect_timeout', 'vact', atLeast(0), 'connectTimeoutMs', (m) => m.config.ping.connectTimeoutMs),
  memberInt('prepost_timeout', 'vapt', atLeast(0), 'prepostTimeoutMs', (m) => m.config.ping.prepostTimeoutMs),
  memberInt('reply_timeout', 'vart', atLeast(0), 'replyTimeoutMs', (m) => m.config.replyTimeoutMs),
  memberInt('retries', 'var', atLeast(1), 'retries', (m) => m.config.retries),
  memberInt('retry_interval', 'vari', atLeast(1), 'retryIntervalMs', (m) => m.config.retryIntervalMs),
  memberInt('connection_ping_interval', 'vacpi', atLeast(1), 'connectionPingIntervalSec', (m) => m.config.ping.intervalSec),
  memberInt('recovery_options', 'varo', atLeast(0), 'recoveryOptions', (m) => m.config.recoveryOptions),
  memberInt('busy_limit', 'vabl', atLeast(0), 'busyLimit', (m) => m.config.busyLimit),
  { ...memberInt('max_packet_size', 'vamps', { min: 8192, max: 65536 }, 'maxPacketSize', (m) => m.config.maxPacketSize), kind: 'packet' },
];

export const LB_ATTRIBUTES: readonly LbAttribute[] = [
  { key: 'sticky_session', code: 'vls', kind: 'bool', range: NONE, current: (l) => l.stickySession, configured: (l) => l.config.stickySession },
  {
    key: 'sticky_session_force',
    code: 'vlf',
    kind: 'bool',
    range: NONE,
    current: (l) => l.stickySessionForce,
    configured: (l) => l.config.stickySessionForce,
  },
  { key: 'method', code: 'vlm', kind: 'method', range: NONE, current: (l) => METHOD_NAMES[l.method], configured: (l) => l.config.method },
  { key: 'lock', code: 'vll', kind: 'lock', range: NONE, current: (l) => LOCK_NAMES[l.lock], configured: (l) => l.config.lock },
  { key: 'retries', code: 'vlr', kind: 'int', range: atLeast(1), current: (l) => l.retries, configured: (l) => l.config.retries },
  {
    key: 'retry_interval',
    code: 'vlri',
    kind: 'int',
    range: atLeast(1),
    current: (l) => l.retryIntervalMs,
    configured: (l) => l.config.retryIntervalMs,
  },
  { key: 'recover_time', code: 'vlt', kind: 'int', range: atLeast(1), current: (l) => l.recoverTimeSec, configured: (l) => l.config.recoverTimeSec },
  {
    key: 'error_escalation_time',
    code: 'vlee',
    kind: 'int',
    range: atLeast(1),
    current: (l) => l.errorEscalationTimeSec,
    configured: (l) => l.config.errorEscalationTimeSec,
  },
  {
    key: 'max_reply_timeouts',
    code: 'vlx',
    kind: 'int',
    range: atLeast(0),
    current: (l) => l.maxReplyTimeouts,
    configured: (l) => l.config.maxReplyTimeouts,
  },
];

export const MEMBER_BY_CODE = new Map(MEMBER_ATTRIBUTES.map((a) => [a.code, a]));
export const MEMBER_BY_KEY = new Map(MEMBER_ATTRIBUTES.map((a) => [a.key, a]));
export const LB_BY_CODE = new Map(LB_ATTRIBUTES.map((a) => [a.code, a]));
export const LB_BY_KEY = new Map(LB_ATTRIBUTES.map((a) => [a.key, a]));

const ACT_BY_CHAR: Record<string, string> = { a: 'ACT', '0': 'ACT', d: 'DIS', '1': 'DIS', s: 'STP', '2': 'STP' };
const METHOD_BY_CHAR: Record<string, string> = {
  r: 'Request', '0': 'Request', t: 'Traffic', '1': 'Traffic', b: 'Busyness', '2': 'Busyness',
  s: 'Sessions', '3': 'Sessions', n: 'Next', '4': 'Next',
};
const LOCK_BY_CHAR: Record<string, string> = { o: 'Optimistic', '0': 'Optimistic', p: 'Pessimistic', '1': 'Pessimistic' };

/**
 * Boolean spellings of docs/directives.md#booleans; anything else is refused (mod_jk would silently
 * keep the old value).
 */
function parseBool(raw: string): boolean | null {
  const lower = raw.toLowerCase();
  const c = lower.charAt(0);
  if (lower === 'off' || c === 'f' || c === 'n' || raw === '0') return false;
  if (lower === 'on' || c === 't' || c === 'y' || raw === '1') return true;
  return null;
}

/** Characters that would break cookies, log lines or the txt/prop formats. */
const UNSAFE_STRING = /[\u0000-\u0020\u007f;,]/;

type Syntax = { ok: true; value: AttrValue } | { ok: false; reason: string };

/** The value a raw parameter spells, or why it spells none (its syntax only; the range is separate). */
function readSyntax(attr: AttributeBase, raw: string): Syntax {
  switch (attr.kind) {
    case 'int':
    case 'packet': {
      if (!/^[+-]?\d{1,10}$/.test(raw)) return { ok: false, reason: 'not a decimal integer' };
      const n = Number(raw);
      if (n > INT_MAX || n < -INT_MAX - 1) return { ok: false, reason: 'number out of range' };
      // mod_jk rounds packet sizes up to a multiple of 1024 before its range check.
      return { ok: true, value: attr.kind === 'packet' ? Math.ceil(n / 1024) * 1024 : n };
    }
    case 'string':
      if (Buffer.byteLength(raw) > MAX_STRING_BYTES) return { ok: false, reason: 'too long' };
      if (UNSAFE_STRING.test(raw)) return { ok: false, reason: 'contains whitespace, control characters, ; or ,' };
      return { ok: true, value: raw };
    case 'bool': {
      const b = parseBool(raw);
      return b === null ? { ok: false, reason: 'not a boolean' } : { ok: true, value: b };
    }
    case 'activation':
    case 'method':
    case 'lock': {
      const table = attr.kind === 'activation' ? ACT_BY_CHAR : attr.kind === 'method' ? METHOD_BY_CHAR : LOCK_BY_CHAR;
      const v = table[raw.charAt(0).toLowerCase()];
      return v === undefined ? { ok: false, reason: `unknown ${attr.kind}` } : { ok: true, value: v };
    }
  }
}

/** Why a well-formed value is outside the attribute's range, or null when it is inside. */
function outOfRange(range: Range, value: AttrValue): string | null {
  if (range === null) return null;
  if ('nonEmpty' in range) return range.nonEmpty && value === '' ? 'must not be empty' : null;
  const n = value as number;
  if (n >= range.min && n <= range.max) return null;
  return range.max === INT_MAX ? `must be ${range.min} or more` : `must be ${range.min}–${range.max}`;
}

/**
 * Read one raw update value as the new value of an attribute whose value is now `current`.
 * Malformed input and well-formed values outside the range are `invalid` (mod_jk ignored the
 * latter silently, so `vaprt=99999` looked accepted). The current value itself is `unchanged`
 * whatever the range says: a resubmitted form carries every field, including values the workers
 * file may set outside the live range (a `connection_ping_interval` of 0, a port of 0).
 */
export function parseNewValue(attr: AttributeBase, raw: string, current: AttrValue): Parsed {
  const s = readSyntax(attr, raw);
  if (!s.ok) return { kind: 'invalid', reason: s.reason };
  if (s.value === current) return { kind: 'unchanged' };
  const why = outOfRange(attr.range, s.value);
  return why === null ? { kind: 'value', value: s.value } : { kind: 'invalid', reason: why };
}

/**
 * Check a stored (persisted) value: what a live update would accept — right type, syntax and
 * range. A state file written by an older version may hold values that were accepted then.
 */
export function checkStoredValue(attr: AttributeBase, value: unknown): { ok: true; value: AttrValue } | { ok: false; reason: string } {
  const wanted = attr.kind === 'bool' ? 'boolean' : attr.kind === 'int' || attr.kind === 'packet' ? 'number' : 'string';
  if (typeof value !== wanted) return { ok: false, reason: `not a ${wanted}` };
  if (attr.kind !== 'bool') {
    // The stored value must be its own canonical spelling (e.g. an integer, a rounded packet size).
    const s = readSyntax(attr, String(value));
    if (!s.ok) return s;
    if (s.value !== value) return { ok: false, reason: 'not a value the status worker sets' };
  }
  const why = outOfRange(attr.range, value as AttrValue);
  return why === null ? { ok: true, value: value as AttrValue } : { ok: false, reason: why };
}

/**
 * Apply a new value to a member with mod_jk's side effects: an activation change resets the
 * lb_values (Balancer.setActivation), an lbfactor change recomputes all multipliers
 * (setLbFactor), a route change derives the domain when the member has none
 * (docs/status-worker.md#update-codes).
 */
export function applyMemberAttribute(b: Balancer, m: MemberRuntime, key: string, value: AttrValue): void {
  switch (key) {
    case 'activation':
      b.setActivation(m.index, ACT_NAMES.indexOf(value as (typeof ACT_NAMES)[number]) as ActCode);
      return;
    case 'lbfactor':
      b.setLbFactor(m.index, value as number);
      return;
    case 'route':
      b.setRoute(m.index, value as string);
      return;
    case 'redirect':
      m.redirect = value as string;
      return;
    case 'domain':
      m.domain = value as string;
      return;
    case 'host':
      m.host = value as string;
      return;
  }
  const n = value as number;
  switch (key) {
    case 'distance': m.distance = n; return;
    case 'port': m.port = n; return;
    case 'connection_pool_timeout': m.connectionPoolTimeoutSec = n; return;
    case 'ping_timeout': m.pingTimeoutMs = n; return;
    case 'connect_timeout': m.connectTimeoutMs = n; return;
    case 'prepost_timeout': m.prepostTimeoutMs = n; return;
    case 'reply_timeout': m.replyTimeoutMs = n; return;
    case 'retries': m.retries = n; return;
    case 'retry_interval': m.retryIntervalMs = n; return;
    case 'connection_ping_interval': m.connectionPingIntervalSec = n; return;
    case 'recovery_options': m.recoveryOptions = n; return;
    case 'busy_limit': m.busyLimit = n; return;
    case 'max_packet_size': m.maxPacketSize = n; return;
  }
  throw new Error(`unknown member attribute ${key}`);
}

export function applyLbAttribute(lb: LbRuntime, key: string, value: AttrValue): void {
  switch (key) {
    case 'sticky_session': lb.stickySession = value as boolean; return;
    case 'sticky_session_force': lb.stickySessionForce = value as boolean; return;
    case 'method': lb.method = METHOD_NAMES.indexOf(value as (typeof METHOD_NAMES)[number]) as MethodCode; return;
    case 'lock': lb.lock = value === 'Pessimistic' ? 1 : 0; return;
    case 'retries': lb.retries = value as number; return;
    case 'retry_interval': lb.retryIntervalMs = value as number; return;
    case 'recover_time': lb.recoverTimeSec = value as number; return;
    case 'error_escalation_time': lb.errorEscalationTimeSec = value as number; return;
    case 'max_reply_timeouts': lb.maxReplyTimeouts = value as number; return;
  }
  throw new Error(`unknown lb attribute ${key}`);
}

/** Fields whose runtime value differs from the workers file: key → {config, current}. */
export type Overrides = Record<string, { config: AttrValue; current: AttrValue }>;

export function memberOverrides(m: MemberRuntime): Overrides {
  const out: Overrides = {};
  for (const a of MEMBER_ATTRIBUTES) {
    const current = a.current(m);
    const config = a.configured(m);
    if (current !== config) out[a.key] = { config, current };
  }
  return out;
}

export function lbOverrides(lb: LbRuntime): Overrides {
  const out: Overrides = {};
  for (const a of LB_ATTRIBUTES) {
    const current = a.current(lb);
    const config = a.configured(lb);
    if (current !== config) out[a.key] = { config, current };
  }
  return out;
}
