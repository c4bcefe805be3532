/**
 * What the listener checks and derives once per request, before any worker sees it: the request
 * is well-formed enough that no transport will refuse it (a refusal there would be counted against
 * a member), the target in origin-form, the path the mount map matches, and the URL the backend
 * gets. A client's malformed request is answered 400 here and never reaches a member.
 */
import type { IncomingMessage } from 'node:http';
import { normalizeTarget } from '../config/index.js';

/**
 * How the request URI is forwarded (mod_jk's JkOptions ForwardURI*, docs/forwarded-uri.md):
 * - proxy: the normalised path re-encoded, path parameters kept (mod_jk's default since 1.2.24);
 * - unparsed: exactly as the client sent it (ForwardURICompatUnparsed).
 */
export type ForwardUriMode = 'proxy' | 'unparsed';
export const FORWARD_URI_MODES: readonly ForwardUriMode[] = ['proxy', 'unparsed'];

export interface RequestTarget {
  /** Normalised path: what the mount map matches. */
  readonly path: string;
  /** Path and query for the backend, per the ForwardUriMode. */
  readonly url: string;
}

/** uri-host [":" port] (RFC 9110 §7.2): reg-name characters or an IP literal. */
const HOST_VALUE = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=%]*|\[[0-9A-Fa-f:.]+\])(?::\d*)?$/;

/**
 * Why the head cannot be forwarded, or null. RFC 9112 §3.2: more than one Host, or an invalid one,
 * is a 400; the transports could not forward them either (nor a second Content-Length).
 */
export function headProblem(raw: readonly string[]): string | null {
  let hosts = 0;
  let lengths = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].length;
    if (n === 4 && raw[i].toLowerCase() === 'host') {
      if (++hosts > 1) return 'more than one Host header';
      if (!HOST_VALUE.test(raw[i + 1])) return 'invalid Host header';
    } else if (n === 14 && raw[i].toLowerCase() === 'content-length' && ++lengths > 1) {
      return 'more than one Content-Length header';
    }
  }
  return null;
}

/**
 * An absolute-form target (`GET http://host/x HTTP/1.1`) must be accepted, with its authority
 * taking the place of the Host header (RFC 9112 §3.2.2). Rewritten in place so every later reader
 * (routing, headers, status worker) sees origin-form and the right Host. False if not parseable.
 */
function toOriginForm(req: IncomingMessage, url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.host === '') return false;
  const authority = url.slice(parsed.protocol.length + 2).split(/[/?#]/, 1)[0];
  if (authority.includes('@') || !HOST_VALUE.test(authority)) return false;
  const rest = url.slice(parsed.protocol.length + 2 + authority.length);
  req.url = rest === '' || rest[0] === '?' ? `/${rest}` : rest;
  const raw = req.rawHeaders;
  const i = raw.findIndex((name, k) => k % 2 === 0 && name.toLowerCase() === 'host');
  if (i >= 0) raw[i + 1] = authority;
  else raw.push('Host', authority);
  req.headers.host = authority;
  return true;
}

function isAbsoluteForm(url: string): boolean {
  const c = url.charCodeAt(0);
  return (c === 104 || c === 72) /* h */ && /^https?:\/\//i.test(url);
}

/** The request's target, or a message for the 400 the client gets. */
export function readTarget(req: IncomingMessage, mode: ForwardUriMode): RequestTarget | string {
  const problem = headProblem(req.rawHeaders);
  if (problem !== null) return problem;
  let url = req.url ?? '/';
  if (isAbsoluteForm(url)) {
    if (!toOriginForm(req, url)) return 'the request target is not valid';
    url = req.url!;
  }
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const n = normalizeTarget(rawPath);
  if (n === null) return 'the request path is not valid';
  if (mode === 'unparsed' || n.forward === rawPath) return { path: n.path, url };
  return { path: n.path, url: q < 0 ? n.forward : n.forward + url.slice(q) };
}
