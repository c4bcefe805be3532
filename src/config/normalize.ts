/**
 * Request-path normalisation before URI mapping (docs/uri-mapping.md#path-normalisation), run on every request.
 *
 * Order: the query is cut off; path parameters (`;…` up to the next '/') are removed from every
 * segment of the raw path (a raw ';' is a delimiter, an encoded `%3B` is data — as Tomcat reads
 * it, so the balancer and the backend agree on the path); then segments are percent-decoded;
 * empty and `.` segments are dropped and `..` pops one. Returns null when the path is not
 * origin-form, has a bad or dangerous escape (`%2F`, `%00`, invalid UTF-8) or climbs above the
 * root — the caller answers 400.
 *
 * The same walk gives the path forwarded to the backend in mod_jk's default mode (ForwardURIProxy,
 * docs/forwarded-uri.md): the kept segments re-encoded, path parameters kept. Computing both in
 * one place is what keeps the mount decision and the backend's view of the path in agreement.
 */

/**
 * Anything outside the characters a forwarded path may carry as they are (letters, digits,
 * ~$-_.+!*'(),:@&= and '/': mod_jk's partial re-encoding for ForwardURIProxy), and the sequences
 * that normalisation changes. A path without any of them is its own normal and forwarded form.
 */
const NEEDS_WORK = /[^A-Za-z0-9~$\-_.+!*'(),:@&=/]|\/\/|\/\.(?:\/|\.|$)/;

/** Bytes a re-encoded segment may carry literally; everything else becomes %XX. */
const LITERAL = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~$-_.+!*'(),:@&=") LITERAL[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

function decodeSegment(seg: string): string | null {
  if (!seg.includes('%')) return seg;
  if (/%(?![0-9a-fA-F]{2})/.test(seg) || /%(?:2[fF]|00)/.test(seg)) return null;
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
}

/**
 * A raw path piece in canonical escaping, byte by byte: an escape of a literal character is
 * decoded, every other byte (raw or escaped) is written %XX. A raw ';' (a parameter delimiter)
 * stays literal; an escaped one stays escaped, so the backend splits parameters where we did.
 */
function reencode(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    let code = raw.charCodeAt(i);
    let escaped = false;
    if (code === 37 /* % */) {
      code = parseInt(raw.slice(i + 1, i + 3), 16);
      i += 2;
      escaped = true;
    }
    if (code > 255) out += encodeURIComponent(raw[i]);
    else if (LITERAL[code] === 1 || (code === 59 /* ; */ && !escaped)) out += String.fromCharCode(code);
    else out += `%${HEX[code >> 4]}${HEX[code & 15]}`;
  }
  return out;
}

export interface NormalizedTarget {
  /** Decoded, dot segments resolved, path parameters removed: what the mount map matches. */
  readonly path: string;
  /**
   * The same path for the backend (ForwardURIProxy): the segments that `path` kept, in canonical
   * escaping, each with its path parameters (`;jsessionid=` must reach Tomcat), so the backend's
   * own normalisation arrives at `path` again.
   */
  readonly forward: string;
}

/** See the file comment. `rawPath` is the request target's path (a query is cut off). */
export function normalizeTarget(rawPath: string): NormalizedTarget | null {
  if (rawPath.charCodeAt(0) !== 47 /* '/' */) return null;
  const q = rawPath.indexOf('?');
  const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
  if (!NEEDS_WORK.test(path)) return { path, forward: path };

  const parts = path.split('/');
  const out: string[] = [];
  const fwd: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const raw = parts[i];
    const semi = raw.indexOf(';');
    const seg = semi >= 0 ? raw.slice(0, semi) : raw;
    const decoded = decodeSegment(seg);
    if (decoded === null) return null;
    const last = i === parts.length - 1;
    if (decoded === '' || decoded === '.') {
      // A trailing '/', '/.' or '/;p' keeps the path a directory.
      if (last) {
        out.push('');
        fwd.push(semi >= 0 ? reencode(raw.slice(semi)) : '');
      }
      continue;
    }
    if (decoded === '..') {
      if (out.length === 0) return null;
      out.pop();
      fwd.pop();
      if (last) {
        out.push('');
        fwd.push('');
      }
      continue;
    }
    out.push(decoded);
    fwd.push(reencode(raw));
  }
  return { path: `/${out.join('/')}`, forward: `/${fwd.join('/')}` };
}

export function normalizePath(rawPath: string): string | null {
  return normalizeTarget(rawPath)?.path ?? null;
}
