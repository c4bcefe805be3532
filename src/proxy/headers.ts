/**
 * Header rewriting between client and member: hop-by-hop headers never cross the proxy
 * (RFC 9110 §7.6.1), X-Forwarded-* are added.
 * Both directions are one pass over the headers in the common case (this runs on every request).
 */
import type { TlsFacts } from './transport.js';

/** Request headers that belong to one connection only. `host` is kept: Tomcat apps build URLs from it. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'http2-settings',
]);

/** Response headers that must not be relayed as they are (Node sets its own framing). */
const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
/** Bit n set: some name of RESPONSE_HOP_BY_HOP is n characters long (all are under 32). */
const RESPONSE_HOP_BY_HOP_LENGTHS = [...RESPONSE_HOP_BY_HOP].reduce((mask, name) => mask | (1 << name.length), 0);

/** Header names that carry jkbalancer's own facts to the backend; a client may not set them. */
export const ACTIVATION_HEADER = 'x-jk-lb-activation';
export const ROUTE_HEADER = 'x-jk-route';

/**
 * The client's TLS facts for http members (README "TLS and HTTP/2"), named so that Tomcat's SSLValve
 * can be pointed at them. Sent only for requests that came over TLS; a client's copies are always
 * dropped, on plain HTTP too, so a backend can trust them.
 */
export const SSL_HEADERS = {
  cert: 'x-ssl-client-cert',
  cipher: 'x-ssl-cipher',
  sessionId: 'x-ssl-session-id',
  keySize: 'x-ssl-key-size',
  protocol: 'x-ssl-protocol',
} as const;

/** Request headers only the balancer writes: every client copy is dropped. */
const OWN_REQUEST_HEADERS = new Set<string>(['x-forwarded-proto', 'x-forwarded-host', ACTIVATION_HEADER, ROUTE_HEADER, ...Object.values(SSL_HEADERS)]);

/**
 * Names a Connection header lists are hop-by-hop too. Usually it lists only standard ones
 * (keep-alive, close, upgrade), already dropped; otherwise filter `out` once more.
 */
function dropListed(out: string[], connection: string, standard: ReadonlySet<string>): string[] {
  // The usual value, on every keep-alive reply: nothing to split.
  if (connection.length === 10 && connection.toLowerCase() === 'keep-alive') return out;
  let extra: Set<string> | null = null;
  for (const t of connection.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && name !== 'close' && !standard.has(name)) (extra ??= new Set()).add(name);
  }
  if (extra === null) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!extra.has(out[i].toLowerCase())) kept.push(out[i], out[i + 1]);
  return kept;
}

/**
 * Client raw headers → flat [name, value…] list for the member: hop-by-hop removed, our own
 * x-jk-* removed (they are set per attempt by the transport), X-Forwarded-Proto/-Host replaced by
 * ours, and our hop appended to X-Forwarded-For and to Forwarded (RFC 7239): a backend that trusts
 * the balancer reads the last element, which a client cannot write.
 */
export function forwardRequestHeaders(raw: readonly string[], remoteAddress: string, secure: boolean): string[] {
  let out: string[] = [];
  let xff: string | null = null;
  let forwarded: string | null = null;
  let host = '';
  let connection = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connection = connection ? `${connection},${raw[i + 1]}` : raw[i + 1];
      continue;
    }
    if (lower === 'x-forwarded-for') {
      xff = xff === null ? raw[i + 1] : `${xff}, ${raw[i + 1]}`;
      continue;
    }
    if (lower === 'forwarded') {
      forwarded = forwarded === null ? raw[i + 1] : `${forwarded}, ${raw[i + 1]}`;
      continue;
    }
    if (OWN_REQUEST_HEADERS.has(lower)) continue;
    if (lower === 'host') host = raw[i + 1];
    out.push(name, raw[i + 1]);
  }
  if (connection) out = dropListed(out, connection, HOP_BY_HOP);
  const client = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
  out.push('x-forwarded-for', xff === null ? client : `${xff}, ${client}`);
  const proto = secure ? 'https' : 'http';
  out.push('x-forwarded-proto', proto);
  if (host) out.push('x-forwarded-host', host);
  const hop = `for=${client.includes(':') ? `"[${client}]"` : client};proto=${proto}${host ? `;host="${host}"` : ''}`;
  out.push('forwarded', forwarded === null ? hop : `${forwarded}, ${hop}`);
  return out;
}

/**
 * The TLS facts as X-SSL-* headers, appended to a member's flat header list. The certificate is
 * URL-encoded PEM (one line, as nginx's $ssl_client_escaped_cert and Tomcat's
 * SSLValve `sslClientEscapedCertHeader` expect).
 */
export function pushSslHeaders(out: string[], tls: TlsFacts): void {
  if (tls.cert) out.push(SSL_HEADERS.cert, encodeURIComponent(tls.cert));
  if (tls.cipher) out.push(SSL_HEADERS.cipher, tls.cipher);
  if (tls.sessionId) out.push(SSL_HEADERS.sessionId, tls.sessionId);
  if (tls.keySize) out.push(SSL_HEADERS.keySize, String(tls.keySize));
  if (tls.protocol) out.push(SSL_HEADERS.protocol, tls.protocol);
}

/** Member raw response headers → flat list for the client, hop-by-hop removed. */
export function relayResponseHeaders(raw: readonly string[], setCookie: string | null): string[] {
  let out: string[] = [];
  let connection = '';
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].length;
    // Only names as long as a hop-by-hop one need a closer look (most replies have none).
    if (n >= 32 || ((RESPONSE_HOP_BY_HOP_LENGTHS >>> n) & 1) === 0) {
      out.push(raw[i], raw[i + 1]);
      continue;
    }
    const lower = raw[i].toLowerCase();
    if (RESPONSE_HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connection = connection ? `${connection},${raw[i + 1]}` : raw[i + 1];
      continue;
    }
    out.push(raw[i], raw[i + 1]);
  }
  if (connection) out = dropListed(out, connection, RESPONSE_HOP_BY_HOP);
  if (setCookie !== null) out.push('Set-Cookie', setCookie);
  return out;
}

/** The first Host header's value, or ''. */
export function hostHeader(raw: readonly string[]): string {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') return raw[i + 1];
  }
  return '';
}

/** Every raw Cookie header value, in order (the routing core wants each line). */
export function cookieLines(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 6 && raw[i].toLowerCase() === 'cookie') out.push(raw[i + 1]);
  }
  return out;
}
