/**
 * Is a request addressed to this balancer by one of its own names? The defence against DNS
 * rebinding: a page on evil.example re-points its own name at 127.0.0.1, and the victim's browser
 * then sends requests that look local and same-origin (`Origin: http://evil.example:8080` matches
 * `Host: evil.example:8080`) — only the Host header still gives the attacker's name away.
 *
 * Own names: loopback names (localhost, 127.0.0.0/8, ::1), and the names the operator lists
 * (the listen address and `--server-name`). A request without a Host header (HTTP/1.0) is not
 * refused: browsers always send one, so it cannot come from a rebound page.
 */
import { isLoopback } from './access.js';

/** The host part of a Host header or name: lower case, no port, no IPv6 brackets, no final dot. */
export function hostName(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    return close < 0 ? v : v.slice(1, close);
  }
  // A colon here is the port's (an IPv6 address in a Host header always has brackets); a bare
  // IPv6 address (an operator's `--listen ::1:8080` gives `::1`) is kept whole.
  const colon = v.indexOf(':');
  const host = colon < 0 || v.indexOf(':', colon + 1) >= 0 ? v : v.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** `names`: the operator's names for this balancer, in any of the spellings hostName accepts. */
export function isOwnHost(hostHeader: string | undefined, names: readonly string[]): boolean {
  if (hostHeader === undefined) return true;
  const host = hostName(hostHeader);
  if (host === 'localhost' || isLoopback(host)) return true;
  return names.some((n) => hostName(n) === host);
}
