/**
 * jkstatus query-string parsing (docs/status-worker.md#requests), stricter than mod_jk where mod_jk is unsafe:
 * keys are taken raw, values percent-decoded with '+' → space, and `<>?"` in values replaced by '@'
 * (mod_jk's XSS guard, kept so such characters can never be set). Unlike mod_jk, a repeated key, an
 * over-long value or too many parameters make the whole request fail instead of "last one wins" or
 * truncation: a request is either understood completely or not acted upon at all.
 */

/** Longest accepted decoded parameter value (bytes). */
export const MAX_VALUE_BYTES = 1024;
/** Longest accepted parameter name. */
export const MAX_KEY_LENGTH = 64;
/** Most parameters in one request (the all-members form sends one per member). */
export const MAX_PARAMS = 512;

export interface ParsedQuery {
  readonly params: ReadonlyMap<string, string>;
  /** Keys whose values had `<>?"` replaced by '@' (updates refuse them rather than store mangled text). */
  readonly masked: ReadonlySet<string>;
  /** Why parsing failed (for the log; the client sees mod_jk's "Error during parsing of URI"), or null. */
  readonly error: string | null;
}

const XSS_CHARS = /[<>?"]/g;
/** `sw` keeps '?': it is a wildcard there (mod_jk's masking made `?` wildcards unusable). */
const XSS_CHARS_SW = /[<>"]/g;

function decodeValue(raw: string): string | null {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

export function parseQuery(query: string): ParsedQuery {
  const params = new Map<string, string>();
  const masked = new Set<string>();
  let error: string | null = null;
  const fail = (why: string) => {
    error ??= why;
  };
  const pieces = query === '' ? [] : query.split('&');
  if (pieces.length > MAX_PARAMS * 2) fail('too many parameters');
  for (const piece of error ? [] : pieces) {
    const eq = piece.indexOf('=');
    // Like mod_jk: pieces without '=' and empty keys are ignored.
    if (eq <= 0) continue;
    const key = piece.slice(0, eq);
    if (key.length > MAX_KEY_LENGTH || /[^\w.-]/.test(key)) {
      fail('malformed parameter name');
      continue;
    }
    const value = decodeValue(piece.slice(eq + 1));
    if (value === null) {
      fail(`malformed percent escape in parameter '${key}'`);
      continue;
    }
    if (value.includes('\u0000')) {
      fail(`NUL byte in parameter '${key}'`);
      continue;
    }
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
      fail(`parameter '${key}' longer than ${MAX_VALUE_BYTES} bytes`);
      continue;
    }
    if (params.has(key)) {
      fail(`repeated parameter '${key}'`);
      continue;
    }
    if (params.size >= MAX_PARAMS) {
      fail('too many parameters');
      continue;
    }
    const safe = value.replace(key === 'sw' ? XSS_CHARS_SW : XSS_CHARS, '@');
    if (safe !== value) masked.add(key);
    params.set(key, safe);
  }
  return { params, masked, error };
}

/** mod_jk's `atoi` for the non-update integers (opt, re): leading decimal number, else 0. */
export function leadingInt(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const m = /^\s*([+-]?\d{1,10})/.exec(raw);
  if (!m) return 0;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && Math.abs(n) <= 2_147_483_647 ? n : 0;
}
