/**
 * An HTTP/2 request made to look like the HTTP/1.1 request the rest of the data path reads
 * (routing, request-target checks, header forwarding, the status worker), once, before any of it
 * runs. Node's compatibility objects are close to http.IncomingMessage, but their headers differ:
 *
 * - pseudo-headers (`:method`, `:path`, `:scheme`, `:authority`) are among the headers: dropped
 *   (method and URL keep coming from them);
 * - `:authority` stands in for `Host` (RFC 9113 §8.3.1): it becomes the Host header members get;
 * - a client may split `Cookie` into several fields (RFC 9113 §8.2.3), which HTTP/1.1 forbids:
 *   they are joined with "; " into one, before the session id is looked up;
 * - a body needs no Content-Length: without one it is read as HTTP/1.1 reads a chunked body.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

/**
 * Rewrites `req`'s headers in place (own properties shadowing the compatibility getters); returns
 * why the request is malformed, or null.
 */
export function asHttp1Request(req: Http2ServerRequest): string | null {
  const src = req.rawHeaders;
  const raw: string[] = [];
  let authority: string | null = null;
  let host: string | null = null;
  let cookie: string | null = null;
  let cookieAt = -1;
  for (let i = 0; i < src.length; i += 2) {
    const name = src[i];
    const value = src[i + 1];
    if (name[0] === ':') {
      if (name === ':authority') authority = value;
      continue;
    }
    if (name === 'cookie') {
      if (cookie === null) {
        cookie = value;
        cookieAt = raw.length;
        raw.push(name, value);
      } else {
        cookie = `${cookie}; ${value}`;
        raw[cookieAt + 1] = cookie;
      }
      continue;
    }
    if (name === 'host') host = value;
    raw.push(name, value);
  }
  if (authority !== null && host !== null && authority !== host) return 'the Host header differs from :authority';
  if (host === null && authority !== null) raw.unshift('host', authority);

  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) if (name[0] !== ':') headers[name] = value;
  if (host === null && authority !== null) headers.host = authority;
  if (cookie !== null) headers.cookie = cookie;
  // Node's HTTP/1.1 reader calls a body of unknown length chunked; so does body.ts.
  if (headers['content-length'] === undefined && !req.stream.endAfterHeaders) {
    headers['transfer-encoding'] = 'chunked';
    raw.push('transfer-encoding', 'chunked');
  }
  Object.defineProperty(req, 'rawHeaders', { value: raw, configurable: true });
  Object.defineProperty(req, 'headers', { value: headers, configurable: true });
  return null;
}
