/**
 * The live settings of lb workers and their members, in one table (jkstatus update codes,
 * docs/status-worker.md#update-codes). Per attribute: its update code and output/persistence key, the
 * type and range of its values, whether a change is persisted, where it takes effect, how its
 * current and workers-file values are read, and how a value is stored in a settings record.
 *
 * Everything that touches live settings iterates this table: the status worker's update command
 * and its "overrides", the state file, reload carry-over, and the wire test that changes every
 * attribute on a running balancer. The records themselves are written only by the gate
 * (Balancer.setMember / setLb, balancer.ts), which alone holds them writable.
 */
import { domainOfRoute } from '../config/values.js';
import type { LbRuntime, LbSettings } from './lb-runtime.js';
import type { MemberRuntime, MemberSettings } from './member.js';
import { ACT_NAMES, METHOD_NAMES, type ActCode, type MethodCode } from './types.js';

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

/**
 * Where a setting takes effect once changed:
 * - `routing`: the routing core's decisions (member choice, lb_value, states, failover, retry rounds);
 * - `attempt`: read by the data path at each attempt (reply timeout, the member's own retries);
 * - `transport`: the member's transport is built from it; a change moves the member's transport
 *   generation and the next request gets a transport built with the new value;
 * - `drain`: the drain policy (routing/drain.ts);
 * - `none`: accepted, shown and persisted as mod_jk does, but nothing in jkbalancer reads it.
 */
export type Applies = 'routing' | 'attempt' | 'transport' | 'drain' | 'none';

interface AttributeBase {
  /** Output / persistence key (txt key name). */
  readonly key: string;
  /** jkstatus update parameter name. */
  readonly code: string;
  readonly kind: ValueKind;
  readonly range: Range;
  /** A live change is written to the state file and re-applied at start and reload. */
  readonly persisted: boolean;
  readonly applies: readonly Applies[];
}

export interface MemberAttribute extends AttributeBase {
  /**
   * Accepted by the "one attribute for all members" form
   * (docs/status-worker.md#one-attribute-for-all-members): all but host and port.
   */
  readonly allMembers: boolean;
  current(m: MemberRuntime): AttrValue;
  configured(m: MemberRuntime): AttrValue;
  /** Store a checked value in a member's settings record (only the gate holds one writable). */
  write(s: MemberSettings, value: AttrValue): void;
}

export interface LbAttribute extends AttributeBase {
  current(lb: LbRuntime): AttrValue;
  configured(lb: LbRuntime): AttrValue;
  /** Store a checked value in the lb's settings record (only the gate holds it writable). */
  write(s: LbSettings, value: AttrValue): void;
}

/** `min` or more, up to what mod_jk's `int` holds. */
const atLeast = (min: number): Range => ({ min, max: INT_MAX });
const NONE: Range = null;

/** Settings record fields of the integer member attributes. */
type MemberIntField =
  | 'lbfactor' | 'distance' | 'port' | 'connectionPoolTimeoutSec' | 'pingTimeoutMs' | 'connectTimeoutMs'
  | 'prepostTimeoutMs' | 'replyTimeoutMs' | 'retries' | 'retryIntervalMs' | 'connectionPingIntervalSec'
  | 'recoveryOptions' | 'busyLimit' | 'maxPacketSize' | 'drainIdleSec' | 'drainDeadlineSec';
type LbIntField = 'retries' | 'retryIntervalMs' | 'recoverTimeSec' | 'errorEscalationTimeSec' | 'maxReplyTimeouts';

function memberInt(
  key: string,
  code: string,
  range: Range,
  field: MemberIntField,
  configured: (m: MemberRuntime) => number,
  applies: readonly Applies[],
): MemberAttribute {
  return {
    key, code, kind: 'int', range, persisted: true, applies, allMembers: true,
    current: (m) => m[field],
    configured,
    write: (s, v) => {
      s[field] = v as number;
    },
  };
}

function memberString(key: string, code: string, field: 'route' | 'redirect' | 'host', nonEmpty: boolean, applies: readonly Applies[], allMembers = true): MemberAttribute {
  return {
    key, code, kind: 'string', range: { nonEmpty }, persisted: true, applies, allMembers,
    current: (m) => m[field],
    configured: (m) => m.config[field],
    write: (s, v) => {
      s[field] = v as string;
    },
  };
}

function lbInt(key: string, code: string, range: Range, field: LbIntField, applies: readonly Applies[]): LbAttribute {
  return {
    key, code, kind: 'int', range, persisted: true, applies,
    current: (l) => l[field],
    configured: (l) => l.config[field],
    write: (s, v) => {
      s[field] = v as number;
    },
  };
}

function lbBool(key: string, code: string, field: 'stickySession' | 'stickySessionForce'): LbAttribute {
  return {
    key, code, kind: 'bool', range: NONE, persisted: true, applies: ['routing'],
    current: (l) => l[field],
    configured: (l) => l.config[field],
    write: (s, v) => {
      s[field] = v as boolean;
    },
  };
}

const ROUTING = ['routing'] as const;
const TRANSPORT = ['transport'] as const;
const ATTEMPT = ['attempt'] as const;
const DRAIN = ['drain'] as const;

/** In mod_jk's order of member updates (it puts route before domain); jkbalancer's own at the end. */
export const MEMBER_ATTRIBUTES: readonly MemberAttribute[] = [
  {
    key: 'activation',
    code: 'vwa',
    kind: 'activation',
    range: NONE,
    persisted: true,
    // Disabled members are what the drain policy watches.
    applies: ['routing', 'drain'],
    allMembers: true,
    current: (m) => ACT_NAMES[m.activation],
    // A member configured with port 0 is forced to Stopped at startup
    // (docs/directives.md#member-balancing): that is its file value.
    configured: (m) => (m.config.port === 0 ? 'STP' : m.config.activation),
    write: (s, v) => {
      s.activation = ACT_NAMES.indexOf(v as (typeof ACT_NAMES)[number]) as ActCode;
    },
  },
  memberInt('lbfactor', 'vwf', atLeast(1), 'lbfactor', (m) => m.config.lbfactor, ROUTING),
  memberString('route', 'vwn', 'route', true, ROUTING),
  memberString('redirect', 'vwr', 'redirect', false, ROUTING),
  {
    key: 'domain',
    code: 'vwc',
    kind: 'string',
    range: { nonEmpty: false },
    persisted: true,
    applies: ROUTING,
    allMembers: true,
    current: (m) => m.domain,
    // An empty configured domain is derived from the route at startup (docs/directives.md#member-balancing).
    configured: (m) => m.config.domain || domainOfRoute(m.config.route),
    write: (s, v) => {
      s.domain = v as string;
    },
  },
  memberInt('distance', 'vwd', atLeast(0), 'distance', (m) => m.config.distance, ROUTING),
  memberString('host', 'vahst', 'host', true, TRANSPORT, false),
  // Port 0 ("do not contact") exists only in the workers file, where it also stops the member.
  { ...memberInt('port', 'vaprt', { min: 1, max: 65535 }, 'port', (m) => m.config.port, TRANSPORT), allMembers: false },
  memberInt('connection_pool_timeout', 'vacpt', atLeast(0), 'connectionPoolTimeoutSec', (m) => m.config.connectionPoolTimeoutSec, TRANSPORT),
  memberInt('ping_timeout', 'vapng', atLeast(0), 'pingTimeoutMs', (m) => m.config.ping.pingTimeoutMs, TRANSPORT),
  memberInt('connect_timeout', 'vact', atLeast(0), 'connectTimeoutMs', (m) => m.config.ping.connectTimeoutMs, TRANSPORT),
  memberInt('prepost_timeout', 'vapt', atLeast(0), 'prepostTimeoutMs', (m) => m.config.ping.prepostTimeoutMs, TRANSPORT),
  memberInt('reply_timeout', 'vart', atLeast(0), 'replyTimeoutMs', (m) => m.config.replyTimeoutMs, ATTEMPT),
  memberInt('retries', 'var', atLeast(1), 'retries', (m) => m.config.retries, ATTEMPT),
  memberInt('retry_interval', 'vari', atLeast(1), 'retryIntervalMs', (m) => m.config.retryIntervalMs, ATTEMPT),
  memberInt('connection_ping_interval', 'vacpi', atLeast(1), 'connectionPingIntervalSec', (m) => m.config.ping.intervalSec, TRANSPORT),
  // Read when an attempt ends: may the request go to another member (routing/outcome.ts).
  memberInt('recovery_options', 'varo', atLeast(0), 'recoveryOptions', (m) => m.config.recoveryOptions, ROUTING),
  memberInt('busy_limit', 'vabl', atLeast(0), 'busyLimit', (m) => m.config.busyLimit, ROUTING),
  {
    ...memberInt('max_packet_size', 'vamps', { min: 8192, max: 65536 }, 'maxPacketSize', (m) => m.config.maxPacketSize, TRANSPORT),
    kind: 'packet',
  },
  // jkbalancer's drain policy (no mod_jk code): `vw…` as the other lb-member settings.
  memberInt('drain_idle_time', 'vwdi', atLeast(0), 'drainIdleSec', (m) => m.config.drainIdleSec, DRAIN),
  memberInt('drain_deadline', 'vwdd', atLeast(0), 'drainDeadlineSec', (m) => m.config.drainDeadlineSec, DRAIN),
];

export const LB_ATTRIBUTES: readonly LbAttribute[] = [
  lbBool('sticky_session', 'vls', 'stickySession'),
  lbBool('sticky_session_force', 'vlf', 'stickySessionForce'),
  {
    key: 'method',
    code: 'vlm',
    kind: 'method',
    range: NONE,
    persisted: true,
    applies: ROUTING,
    current: (l) => METHOD_NAMES[l.method],
    configured: (l) => l.config.method,
    write: (s, v) => {
      s.method = METHOD_NAMES.indexOf(v as (typeof METHOD_NAMES)[number]) as MethodCode;
    },
  },
  {
    key: 'lock',
    code: 'vll',
    kind: 'lock',
    range: NONE,
    persisted: true,
    // mod_jk's lock guards its shared-memory records between httpd processes; jkbalancer runs in one
    // process with one record per worker, so there is nothing to lock (yet).
    applies: ['none'],
    current: (l) => LOCK_NAMES[l.lock],
    configured: (l) => l.config.lock,
    write: (s, v) => {
      s.lock = v === 'Pessimistic' ? 1 : 0;
    },
  },
  lbInt('retries', 'vlr', atLeast(1), 'retries', ROUTING),
  lbInt('retry_interval', 'vlri', atLeast(1), 'retryIntervalMs', ROUTING),
  lbInt('recover_time', 'vlt', atLeast(1), 'recoverTimeSec', ROUTING),
  lbInt('error_escalation_time', 'vlee', atLeast(1), 'errorEscalationTimeSec', ROUTING),
  lbInt('max_reply_timeouts', 'vlx', atLeast(0), 'maxReplyTimeouts', ROUTING),
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
