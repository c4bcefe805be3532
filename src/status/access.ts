/**
 * Who may do what (docs/status-worker.md#access-control plus jkbalancer's rules):
 * - `user` list non-empty: every request needs an authenticated user from the list (mod_jk).
 * - changes (edit/update/reset/recover) need valid Basic credentials when a credentials file is
 *   configured, and otherwise come only from loopback clients;
 * - a change must be addressed to one of the balancer's own names (own-host.ts: DNS rebinding), and
 *   one the browser marks as cross-site (Sec-Fetch-Site, Origin, else Referer) is refused, so a
 *   link, form or script on another site cannot drain a member through a logged-in or local browser.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  if (a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Basic credentials from the Authorization header, or null when absent or malformed. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** scheme://host[:port] of a URL in canonical form (default port dropped, lower case), or null. */
function originOf(url: string): string | null {
  try {
    const o = new URL(url).origin;
    return o === 'null' ? null : o;
  } catch {
    return null;
  }
}

/**
 * True when the browser's own headers place the request on another site. `Sec-Fetch-Site` and
 * `Origin` decide when present: anything but `same-origin`/`none`, or an Origin other than this
 * request's own scheme://host (including `null`), is cross-site. Without both, a `Referer` from
 * another origin is (older browsers send nothing else on a plain link or form GET). Non-browser
 * clients (curl, scripts) send none of the three and are not affected.
 */
export function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const { origin, referer } = req.headers;
  const evidence = origin ?? (site === undefined ? referer : undefined);
  if (evidence === undefined) return false;
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const host = req.headers.host;
  const own = host ? originOf(`${scheme}://${host}`) : null;
  return own === null || originOf(evidence) !== own;
}

export function userAllowed(user: string, allowed: readonly string[], caseInsensitive: boolean): boolean {
  return caseInsensitive ? allowed.some((u) => u.toLowerCase() === user.toLowerCase()) : allowed.includes(user);
}
