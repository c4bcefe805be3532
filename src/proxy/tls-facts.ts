/**
 * The client's TLS facts as mod_jk forwards them from mod_ssl (docs/ajp13.md#ssl-facts): cipher,
 * session id, key size, protocol and client certificate. They belong to the connection, not the
 * request, so they are read once per connection (the first request on it) and kept beside it.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { TlsFacts } from './transport.js';

/** Facts per connection: the TLS socket for HTTP/1.1, the session for HTTP/2 (its streams share them). */
const byConnection = new WeakMap<object, TlsFacts>();

/** The facts of the TLS connection `req` came on (the caller knows it is one). */
export function tlsFactsOf(req: IncomingMessage | Http2ServerRequest): TlsFacts {
  // An HTTP/2 request's `socket` is a proxy made per stream; the session is the connection.
  const key: object = req.httpVersionMajor === 2 ? (req as Http2ServerRequest).stream.session ?? req.socket : req.socket;
  let facts = byConnection.get(key);
  if (facts === undefined) {
    facts = readFacts(req.socket as TLSSocket);
    byConnection.set(key, facts);
  }
  return facts;
}

function readFacts(socket: TLSSocket): TlsFacts {
  const cipher = socket.getCipher()?.name;
  const session = socket.getSession();
  const sessionId = session ? sessionIdOf(session) : '';
  const peer = socket.getPeerCertificate(false);
  const keySize = cipher ? keySizeOf(cipher) : 0;
  return {
    ...(cipher ? { cipher } : {}),
    ...(sessionId ? { sessionId } : {}),
    ...(keySize > 0 ? { keySize } : {}),
    ...(socket.getProtocol() ? { protocol: socket.getProtocol()! } : {}),
    // Only a certificate that verified against --tls-ca: with `--tls-client-cert request` the
    // handshake also lets an unverifiable one through, and the backend must not take it for proof.
    // (An empty object, no `raw`, when the client sent none.)
    ...(peer && peer.raw && socket.authorized ? { cert: pemOf(peer.raw) } : {}),
  };
}

/** DER → PEM, 64 characters a line, as mod_ssl writes SSL_CLIENT_CERT. */
export function pemOf(der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** One DER element at `pos`: where its content starts and ends; null if it runs past the buffer. */
function element(der: Buffer, pos: number): { tag: number; start: number; end: number } | null {
  if (pos + 2 > der.length) return null;
  const tag = der[pos];
  let len = der[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > der.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  return start + len > der.length ? null : { tag, start, end: start + len };
}

/**
 * The session id inside OpenSSL's serialised session (what getSession() returns, the DER form of
 * SSL_SESSION: a SEQUENCE of version, protocol version, cipher and then the session id as an OCTET
 * STRING). Node offers no accessor for the id itself. Upper-case hex as mod_ssl prints it; '' when
 * the session has none (a TLS 1.2 full handshake that hands out a session ticket instead).
 */
export function sessionIdOf(der: Buffer): string {
  const seq = element(der, 0);
  if (seq === null || seq.tag !== 0x30) return '';
  let pos = seq.start;
  const expected = [0x02, 0x02, 0x04, 0x04];
  for (let i = 0; i < expected.length; i++) {
    const e = element(der, pos);
    if (e === null || e.tag !== expected[i]) return '';
    if (i === 3) return der.subarray(e.start, e.end).toString('hex').toUpperCase();
    pos = e.end;
  }
  return '';
}

/**
 * Bits of the symmetric key a cipher suite uses (mod_ssl's SSL_CIPHER_USEKEYSIZE), from its
 * OpenSSL name; 0 for a name this does not know (then no key size is sent). The suites TLS 1.2+
 * negotiates use AES, ChaCha20, Camellia or ARIA.
 */
export function keySizeOf(cipher: string): number {
  const m = /(?:AES|CAMELLIA|ARIA)_?(128|256)/.exec(cipher);
  if (m) return Number(m[1]);
  return cipher.includes('CHACHA20') ? 256 : 0;
}
