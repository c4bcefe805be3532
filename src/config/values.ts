/**
 * Value parsers for directive values, with mod_jk's rules (docs/directives.md#validation-and-bad-values,
 * #booleans, #member-connection; docs/status-worker.md#rating).
 * Pure: they return null / unknown parts and let the caller report.
 */
import type { Activation, LbLock, LbMethod } from './model.js';

const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);

function scaled(digits: string, suffix: string): number | null {
  let n = Number(digits);
  if (suffix === 'k' || suffix === 'K') n *= 1024;
  else if (suffix === 'm' || suffix === 'M') n *= 1048576;
  return n >= INT_MIN && n <= INT_MAX ? n : null;
}

/** A whole integer with an optional k/K (×1024) or m/M (×1048576) suffix; null otherwise. */
export function parseIntStrict(s: string): number | null {
  const m = /^([+-]?\d+)([kKmM]?)$/.exec(s);
  return m ? scaled(m[1], m[2]) : null;
}

/** mod_jk's reading: the leading number (+suffix); trailing text ignored; null if there is none. */
export function parseIntLikeModJk(s: string): number | null {
  const m = /^([+-]?\d+)([kKmM]?)/.exec(s);
  return m ? scaled(m[1], m[2]) : null;
}

/**
 * docs/directives.md#booleans: null when the value is neither spelling (the directive's default
 * then applies).
 */
export function parseBool(s: string): boolean | null {
  const c = s[0];
  if (s.toLowerCase() === 'off' || c === 'f' || c === 'F' || c === 'n' || c === 'N' || s === '0') return false;
  if (s.toLowerCase() === 'on' || c === 't' || c === 'T' || c === 'y' || c === 'Y' || s === '1') return true;
  return null;
}

/** Lists: items separated by spaces, tabs or commas; empty items dropped. */
export function splitList(s: string): string[] {
  return s.split(/[ \t,]+/).filter((x) => x !== '');
}

/**
 * An enumeration read by its first character (docs/directives.md#validation-and-bad-values), with
 * its canonical words for warnings.
 */
export interface FirstCharEnum<T> {
  readonly byChar: Readonly<Record<string, T>>;
  readonly words: readonly string[];
}

export const METHODS: FirstCharEnum<LbMethod> = {
  byChar: { r: 'Request', '0': 'Request', t: 'Traffic', '1': 'Traffic', b: 'Busyness', '2': 'Busyness',
    s: 'Sessions', '3': 'Sessions', n: 'Next', '4': 'Next' },
  words: ['request', 'traffic', 'busyness', 'sessions', 'next'],
};

export const LOCKS: FirstCharEnum<LbLock> = {
  byChar: { o: 'Optimistic', '0': 'Optimistic', p: 'Pessimistic', '1': 'Pessimistic' },
  words: ['optimistic', 'pessimistic'],
};

export const ACTIVATIONS: FirstCharEnum<Activation> = {
  byChar: { a: 'ACT', '0': 'ACT', d: 'DIS', '1': 'DIS', s: 'STP', '2': 'STP' },
  words: ['active', 'disabled', 'stopped', 'act', 'dis', 'stp'],
};

export interface EnumReading<T> {
  readonly value: T | null;
  /** False when the first character decided but the rest is not a recognised spelling (e.g. `Sesion`). */
  readonly canonical: boolean;
}

export function parseFirstChar<T>(s: string, e: FirstCharEnum<T>): EnumReading<T> {
  const value = e.byChar[s[0].toLowerCase()] ?? null;
  const lower = s.toLowerCase();
  const canonical = s.length === 1 || e.words.some((w) => w.startsWith(lower));
  return { value, canonical };
}

export interface PingModeReading {
  readonly connect: boolean;
  readonly prepost: boolean;
  readonly interval: boolean;
  /** Letters that are not C, P, I or A. */
  readonly unknown: string;
}

/**
 * ping_mode letters (docs/directives.md#member-connection): C connect, P prepost, I interval, A
 * all; any case, concatenated.
 */
export function parsePingMode(s: string): PingModeReading {
  let connect = false;
  let prepost = false;
  let interval = false;
  let unknown = '';
  for (const ch of s) {
    switch (ch.toUpperCase()) {
      case 'C': connect = true; break;
      case 'P': prepost = true; break;
      case 'I': interval = true; break;
      case 'A': connect = prepost = interval = true; break;
      default: unknown += ch;
    }
  }
  return { connect, prepost, interval, unknown };
}

const RATING_LETTERS: Readonly<Record<string, number>> = {
  a: 0x000000ff, d: 0x0000ff00, s: 0x00ff0000,
  o: 0x00010101, i: 0x00020202, n: 0x00020202, b: 0x00040404, r: 0x00080808, e: 0x00101010,
};
export const DEFAULT_GOOD_MASK = 0x0000000f;
export const DEFAULT_BAD_MASK = 0x00ff1010;

/**
 * Status `good`/`bad` token list → mask (docs/status-worker.md#rating): a token's first letter,
 * ANDed with the first letter after its first '.' if any (`a.o` ≡ `active.ok`). Unknown letters
 * count 0.
 */
export function parseRating(s: string): { mask: number; unknown: string[] } {
  let mask = 0;
  const unknown: string[] = [];
  for (const token of splitList(s)) {
    const body = token.replace(/^[ \t.]+/, '');
    const first = RATING_LETTERS[body[0]?.toLowerCase() ?? ''];
    const dot = body.indexOf('.');
    const second = dot >= 0 ? RATING_LETTERS[body[dot + 1]?.toLowerCase() ?? ''] : undefined;
    if (first === undefined || (dot >= 0 && second === undefined)) {
      unknown.push(token);
      continue;
    }
    mask |= second === undefined ? first : first & second;
  }
  return { mask: mask >>> 0, unknown };
}

/**
 * Domain derived from a route: the part before its first '.', or '' if it has none
 * (docs/directives.md#member-balancing).
 */
export function domainOfRoute(route: string): string {
  const dot = route.indexOf('.');
  return dot < 0 ? '' : route.substring(0, dot);
}

/** max_packet_size: rounded up to a multiple of 1024, clamped to [8192, 65536]. */
export function roundPacketSize(n: number): number {
  const rounded = Math.ceil(n / 1024) * 1024;
  return Math.min(65536, Math.max(8192, rounded));
}
