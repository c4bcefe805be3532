/**
 * Request-path normalisation before URI mapping (spec §7.9), run on every request.
 *
 * Order: the query is cut off; path parameters (`;…` up to the next '/') are removed from every
 * segment of the raw path (a raw ';' is a delimiter, an encoded `%3B` is data — as Tomcat reads
 * it, so the balancer and the backend agree on the path); then segments are percent-decoded;
 * empty and `.` segments are dropped and `..` pops one. Returns null when the path is not
 * origin-form, has a bad or dangerous escape (`%2F`, `%00`, invalid UTF-8) or climbs above the
 * root — the caller answers 400.
 */

/** Characters or sequences that need the slow path. */
const NEEDS_WORK = /[;%?]|\/\/|\/\.(?:\/|\.|$)/;

function decodeSegment(seg: string): string | null {
  if (!seg.includes('%')) return seg;
  if (/%(?![0-9a-fA-F]{2})/.test(seg) || /%(?:2[fF]|00)/.test(seg)) return null;
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
}

export function normalizePath(rawPath: string): string | null {
  if (rawPath.charCodeAt(0) !== 47 /* '/' */) return null;
  if (!NEEDS_WORK.test(rawPath)) return rawPath;

  const q = rawPath.indexOf('?');
  const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    let seg = parts[i];
    const semi = seg.indexOf(';');
    if (semi >= 0) seg = seg.slice(0, semi);
    const decoded = decodeSegment(seg);
    if (decoded === null) return null;
    const last = i === parts.length - 1;
    if (decoded === '' || decoded === '.') {
      // A trailing '/', '/.' or '/;p' keeps the path a directory.
      if (last) out.push('');
      continue;
    }
    if (decoded === '..') {
      if (out.length === 0) return null;
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(decoded);
  }
  return `/${out.join('/')}`;
}
