/**
 * Session id extraction (docs/load-balancing.md#session-ids): the path parameter wins and shuts
 * cookies out; otherwise every cookie of the configured name, across all Cookie headers, joined
 * with ';'. Scans with indexOf and char codes only, so a request allocates nothing here beyond the
 * id string it returns.
 *
 * Deliberately not replicated (docs/README.md#mod_jk-quirks-not-reproduced): mod_jk's in-place
 * split and its reads past the end of the URI / header for a trailing `name=`.
 */

const EQ = 0x3d; // =
const SEMI = 0x3b; // ;
const COMMA = 0x2c; // ,
const QMARK = 0x3f; // ?
const SLASH = 0x2f; // /
const DQUOTE = 0x22; // "

/** C isspace(): space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Value of the first `<name>=<value>` occurrence in the path (name includes its leading ';' for the lb
 * default, case-sensitive, searched as a substring), cut at the first '?', ';' or '/'.
 * Returns null when absent, '' when present but empty (which still shuts the cookies out).
 */
export function pathSessionId(path: string, name: string): string | null {
  if (name.length === 0) return null;
  const len = path.length;
  let from = 0;
  for (;;) {
    const p = path.indexOf(name, from);
    if (p < 0) return null;
    const q = p + name.length;
    if (q + 1 < len && path.charCodeAt(q) === EQ) {
      let e = q + 1;
      while (e < len) {
        const c = path.charCodeAt(e);
        if (c === QMARK || c === SEMI || c === SLASH) break;
        e++;
      }
      return path.substring(q + 1, e);
    }
    from = p + 1;
  }
}

/**
 * Every cookie called `name` (case-sensitive) in every header, in order, joined with ';'; null if none.
 * `;` and `,` both separate cookies; whitespace between name and '=' is skipped, whitespace inside the
 * value is kept; one pair of surrounding double quotes is stripped.
 */
export function cookieSessionIds(headers: readonly string[], name: string): string | null {
  if (name.length === 0) return null;
  let ids: string | null = null;
  for (let h = 0; h < headers.length; h++) {
    const s = headers[h];
    const len = s.length;
    let from = 0;
    for (;;) {
      const p = s.indexOf(name, from);
      if (p < 0) break;
      from = p + 1;
      if (p > 0) {
        const b = s.charCodeAt(p - 1);
        if (b !== SEMI && b !== COMMA && !isSpace(b)) continue;
      }
      let q = p + name.length;
      while (q < len && isSpace(s.charCodeAt(q))) q++;
      if (q + 1 >= len || s.charCodeAt(q) !== EQ) continue;
      const start = q + 1;
      let end = start;
      while (end < len) {
        const c = s.charCodeAt(end);
        if (c === SEMI || c === COMMA) break;
        end++;
      }
      let vs = start;
      let ve = end;
      if (ve - vs > 1 && s.charCodeAt(vs) === DQUOTE && s.charCodeAt(ve - 1) === DQUOTE) {
        vs++;
        ve--;
      }
      const v = s.substring(vs, ve);
      ids = ids === null ? v : ids + ';' + v;
      from = end + 1;
    }
  }
  return ids;
}

/**
 * The request's session id string (docs/load-balancing.md#session-ids), or null for "no session":
 * absent, or empty. Callers skip this entirely when sticky_session is off or the rule says
 * sticky_ignore.
 */
export function extractSessionId(
  path: string,
  cookies: readonly string[],
  pathName: string,
  cookieName: string,
): string | null {
  const fromPath = pathSessionId(path, pathName);
  const id = fromPath !== null ? fromPath : cookieSessionIds(cookies, cookieName);
  return id === null || id.length === 0 ? null : id;
}

