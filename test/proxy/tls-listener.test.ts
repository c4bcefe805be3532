/**
 * The TLS listener on real sockets, in front of fake Tomcats over HTTP: HTTP/1.1 and HTTP/2 clients
 * stay sticky by cookie; HTTP/2 requests reach members as HTTP/1.1 (Host from :authority, one
 * Cookie, a body without Content-Length) and hop-by-hop reply headers never reach them; the TLS
 * facts arrive in the X-SSL-* headers, which clients cannot set; plain HTTP can redirect; the
 * certificate is reloaded for new connections while open ones finish, and a broken one is refused.
 */
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpFarm, startBalancer, type TestBalancer } from '../helpers/balancer.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { fakeTomcatsForFile, portsOf } from '../helpers/fake-tomcat.js';
import type { AppOptions } from '../../src/proxy/app.js';

const backends = fakeTomcatsForFile(['node1', 'node2']);
let pki: TestPki;
let serverCert: { certFile: string; keyFile: string };
beforeAll(() => {
  pki = makePki();
  serverCert = pki.server('first');
});
afterAll(() => pki.close());

let lb: TestBalancer | null = null;
afterEach(async () => {
  await lb?.close();
  lb = null;
});

/** A balancer with a plain and a TLS listener on OS-chosen ports; the cert files are copies it owns. */
async function start(extra: Partial<AppOptions> = {}, tls: Partial<NonNullable<AppOptions['tls']>> = {}): Promise<{ plain: number; tls: number; certFile: string; keyFile: string }> {
  const tag = randomBytes(4).toString('hex');
  const certFile = `${pki.dir}/listener-${tag}.pem`;
  const keyFile = `${pki.dir}/listener-${tag}.key`;
  copyFileSync(serverCert.certFile, certFile);
  copyFileSync(serverCert.keyFile, keyFile);
  lb = await startBalancer(httpFarm(portsOf(backends)), '/app/*=lb\n', {
    listeners: [
      { host: '127.0.0.1', port: 0, tls: false },
      { host: '127.0.0.1', port: 0, tls: true },
    ],
    tls: { files: { certFile, keyFile }, http2: true, http2MaxStreams: 100, ...tls },
    ...extra,
  });
  const [plain, secure] = lb.app.addresses;
  return { plain: plain.port, tls: secure.port, certFile, keyFile };
}

interface H1Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** CN of the certificate the listener presented. */
  serverCn: string;
}

function h1(port: number, path: string, opts: { headers?: Record<string, string>; agent?: https.Agent; cert?: Buffer; key?: Buffer } = {}): Promise<H1Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, ca: pki.ca, headers: opts.headers, agent: opts.agent ?? false, cert: opts.cert, key: opts.key }, (res) => {
      const chunks: Buffer[] = [];
      // Read now: a kept-alive socket goes back to its agent at the end.
      const serverCn = (res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '';
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), serverCn: String(serverCn) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

interface H2Reply {
  headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader;
  body: Buffer;
}

function h2(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: H2Reply['headers'] = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

function connectH2(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.ca });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const instanceOf = (body: string | Buffer) => (JSON.parse(body.toString()) as { instance: string }).instance;
const sessionOf = (setCookie: string | string[] | undefined) => /JSESSIONID=([^;]+)/.exec(String(setCookie))![1];

describe('TLS listener', () => {
  it('HTTP/1.1 over TLS is sticky by cookie, and the member learns the TLS facts in X-SSL-* headers', async () => {
    const { tls } = await start();
    const first = await h1(tls, '/app/page');
    expect(first.status).toBe(200);
    expect(first.serverCn).toBe('first');
    const id = sessionOf(first.headers['set-cookie']);
    const served = instanceOf(first.body);
    for (let i = 0; i < 4; i++) {
      const again = await h1(tls, '/app/page', { headers: { cookie: `JSESSIONID=${id}` } });
      expect(instanceOf(again.body)).toBe(served);
    }
    const h = backends[served].lastHeaders;
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['x-ssl-protocol']).toMatch(/^TLSv1\.[23]$/);
    expect(h['x-ssl-cipher']).toMatch(/^TLS_|^ECDHE-/);
    expect(Number(h['x-ssl-key-size'])).toBeGreaterThanOrEqual(128);
    // TLS 1.3 sessions always have an id (TLS 1.2 full handshakes with tickets do not).
    if (h['x-ssl-protocol'] === 'TLSv1.3') expect(h['x-ssl-session-id']).toMatch(/^[0-9A-F]{64}$/);
    // No client certificate was asked for.
    expect(h['x-ssl-client-cert']).toBeUndefined();
  });

  it('clients cannot set X-SSL-* or X-Forwarded-Proto, on plain HTTP or over TLS', async () => {
    const { plain, tls } = await start();
    const forged = { 'X-SSL-Cipher': 'NULL', 'X-SSL-Client-Cert': 'forged', 'X-SSL-Session-Id': 'AA', 'X-SSL-Key-Size': '4096', 'X-SSL-Protocol': 'SSLv2', 'X-Forwarded-Proto': 'https' };
    const res = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: plain, path: '/app/page?nosession=1', headers: forged, agent: false }, (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => resolve(body));
      }).on('error', reject);
    });
    const h = backends[instanceOf(res)].lastHeaders;
    expect(h['x-forwarded-proto']).toBe('http');
    for (const name of ['x-ssl-cipher', 'x-ssl-client-cert', 'x-ssl-session-id', 'x-ssl-key-size', 'x-ssl-protocol']) expect(h[name], name).toBeUndefined();

    const secure = await h1(tls, '/app/page?nosession=1', { headers: forged });
    const hs = backends[instanceOf(secure.body)].lastHeaders;
    expect(hs['x-ssl-cipher']).not.toBe('NULL');
    expect(hs['x-ssl-protocol']).not.toBe('SSLv2');
    expect(hs['x-ssl-client-cert']).toBeUndefined();
    expect(hs['x-ssl-key-size']).not.toBe('4096');
  });

  it('HTTP/2: sticky by cookie; several cookie fields reach the member as one Cookie; :authority is its Host', async () => {
    const { tls } = await start();
    const session = await connectH2(tls);
    try {
      const first = await h2(session, { ':path': '/app/page' });
      expect(first.headers[':status']).toBe(200);
      const id = sessionOf(first.headers['set-cookie']);
      const served = instanceOf(first.body);
      for (let i = 0; i < 4; i++) {
        // The session cookie in the middle of three separate cookie fields (RFC 9113 §8.2.3).
        const again = await h2(session, { ':path': '/app/page', cookie: ['theme=dark', `JSESSIONID=${id}`, 'lang=en'] });
        expect(instanceOf(again.body)).toBe(served);
      }
      const b = backends[served];
      const cookies = b.lastRawHeaders.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'cookie' ? [b.lastRawHeaders[i + 1]] : []));
      expect(cookies).toEqual([`theme=dark; JSESSIONID=${id}; lang=en`]);
      expect(b.lastHeaders.host).toBe(`127.0.0.1:${tls}`);
      expect(b.lastHeaders['x-forwarded-host']).toBe(`127.0.0.1:${tls}`);
      expect(b.lastHeaders['x-forwarded-proto']).toBe('https');
      expect(Object.keys(b.lastHeaders).filter((k) => k.startsWith(':'))).toEqual([]);
    } finally {
      session.close();
    }
  });

  it('HTTP/2: a chunked keep-alive reply arrives whole, without connection-specific headers', async () => {
    const { tls } = await start();
    const session = await connectH2(tls);
    try {
      // The fake Tomcat streams this with Transfer-Encoding: chunked, Connection and Keep-Alive.
      const r = await h2(session, { ':path': '/app/download?bytes=200000' });
      expect(r.headers[':status']).toBe(200);
      expect(r.body.length).toBe(200000);
      for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']) expect(r.headers[name], name).toBeUndefined();
    } finally {
      session.close();
    }
  });

  it('HTTP/2: a request body without Content-Length reaches the member whole', async () => {
    const { tls } = await start();
    const session = await connectH2(tls);
    try {
      const body = randomBytes(300_000);
      const r = await h2(session, { ':path': '/app/upload', ':method': 'POST' }, body);
      expect(r.headers[':status']).toBe(200);
      const got = JSON.parse(r.body.toString()) as { bytes: number; sha256: string };
      expect(got).toMatchObject({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    } finally {
      session.close();
    }
  });

  it('HTTP/2: a header value with a control character never reaches a member, and no member is blamed', async () => {
    const { tls } = await start();
    const session = await connectH2(tls);
    try {
      const r = await h2(session, { ':path': '/app/page', 'x-note': 'a\u0001b', 'x-other': 'fine' });
      // Node's HTTP/2 drops such a field (nghttp2); the balancer would refuse it with 400 if it came.
      expect([200, 400]).toContain(r.headers[':status']);
      for (const b of Object.values(backends)) for (const v of b.lastRawHeaders) expect(v).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
      const members = lb!.app.farm.balancers.get('lb')!.members;
      expect(members.map((m) => m.errors)).toEqual(members.map(() => 0));
    } finally {
      session.close();
    }
  });

  it('HTTP/2 is offered only with --http2; HTTP/1.1 stays on the same port', async () => {
    const { tls } = await start({}, { http2: false });
    const session = http2.connect(`https://127.0.0.1:${tls}`, { ca: pki.ca });
    const failed = await new Promise<boolean>((resolve) => {
      session.once('connect', () => resolve(false));
      session.once('error', () => resolve(true));
    });
    session.destroy();
    expect(failed).toBe(true);
    expect((await h1(tls, '/app/page')).status).toBe(200);
  });

  it('--redirect-https: plain requests get 301 (GET) or 308 (others) to the TLS listener, same host and target', async () => {
    const { plain, tls } = await start({ redirectHttps: true });
    const ask = (method: string) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: plain, method, path: '/app/page;jsessionid=X?q=1', headers: { host: 'www.example.test:8080' }, agent: false }, (r) => {
          r.resume();
          resolve(r);
        });
        req.on('error', reject);
        req.end(method === 'POST' ? 'a=1' : undefined);
      });
    const get = await ask('GET');
    expect([get.statusCode, get.headers.location, get.headers['x-jk-error']]).toEqual([301, `https://www.example.test:${tls}/app/page;jsessionid=X?q=1`, 'JKB_HTTPS_REDIRECT']);
    const post = await ask('POST');
    expect([post.statusCode, post.headers.location]).toEqual([308, `https://www.example.test:${tls}/app/page;jsessionid=X?q=1`]);
    expect(Object.values(backends).every((b) => b.lastHeaders.host !== 'www.example.test:8080')).toBe(true);
  });
});

describe('client certificates (--tls-client-cert)', () => {
  it('request: a certificate the CA signed reaches http members as URL-encoded PEM; an unverified one does not', async () => {
    const { tls } = await start({}, { files: { certFile: serverCert.certFile, keyFile: serverCert.keyFile, caFile: pki.caFile, clientCert: 'request' } });
    const alice = pki.client('/CN=alice/O=jkb tests');
    const signed = await h1(tls, '/app/page?nosession=1', alice);
    const pem = decodeURIComponent(String(backends[instanceOf(signed.body)].lastHeaders['x-ssl-client-cert']));
    expect(new X509Certificate(pem).subject).toBe('CN=alice\nO=jkb tests');
    expect(pem).toBe(new X509Certificate(alice.cert).toString());

    const mallory = pki.client('/CN=mallory', true);
    const unsigned = await h1(tls, '/app/page?nosession=1', mallory);
    expect(unsigned.status).toBe(200);
    expect(backends[instanceOf(unsigned.body)].lastHeaders['x-ssl-client-cert']).toBeUndefined();
    const none = await h1(tls, '/app/page?nosession=1');
    expect(backends[instanceOf(none.body)].lastHeaders['x-ssl-client-cert']).toBeUndefined();
  });

  it('require: no handshake without a certificate the CA signed', async () => {
    const { tls } = await start({}, { files: { certFile: serverCert.certFile, keyFile: serverCert.keyFile, caFile: pki.caFile, clientCert: 'require' } });
    await expect(h1(tls, '/app/page')).rejects.toThrow();
    await expect(h1(tls, '/app/page', pki.client('/CN=mallory', true))).rejects.toThrow();
    expect((await h1(tls, '/app/page', pki.client('/CN=bob'))).status).toBe(200);
  });
});

describe('certificate reload (SIGHUP)', () => {
  it('new connections get the new certificate; a request open on the old one finishes', async () => {
    const { tls, certFile, keyFile } = await start();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await h1(tls, '/app/page?nosession=1', { agent })).serverCn).toBe('first');
      // A slow request on that kept-alive connection, in flight across the reload.
      const open = h1(tls, '/app/slow?ms=600', { agent });
      await new Promise((r) => setTimeout(r, 100));
      const next = pki.server('second');
      copyFileSync(next.certFile, certFile);
      copyFileSync(next.keyFile, keyFile);
      expect(lb!.app.reloadTls()).toBe(true);
      expect((await h1(tls, '/app/page?nosession=1')).serverCn).toBe('second');
      const h2s = await connectH2(tls);
      expect(((h2s.socket as TLSSocket).getPeerCertificate().subject as { CN: string }).CN).toBe('second');
      h2s.close();
      const finished = await open;
      expect([finished.status, finished.serverCn]).toEqual([200, 'first']);
      expect(lb!.logs.some((l) => l.msg === 'TLS certificate and key reloaded')).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it.each([
    ['a certificate file that is not PEM', (f: { certFile: string; keyFile: string }) => writeFileSync(f.certFile, 'not a certificate\n'), /not a PEM certificate/],
    ['a key that belongs to another certificate', (f: { certFile: string; keyFile: string }) => copyFileSync(pki.server('other').keyFile, f.keyFile), /does not belong to the certificate/],
  ])('%s is refused and logged; the old certificate keeps serving', async (_name, breakIt, message) => {
    const files = await start();
    breakIt(files);
    expect(lb!.app.reloadTls()).toBe(false);
    const refused = lb!.logs.find((l) => l.msg === 'TLS reload refused: the old certificate and key keep serving');
    expect(String(refused?.err)).toMatch(message);
    expect((await h1(files.tls, '/app/page?nosession=1')).serverCn).toBe('first');
  });

  it('a key that does not match refuses the start, naming both files', async () => {
    const other = pki.server('other');
    await expect(
      startBalancer(httpFarm(portsOf(backends)), '/app/*=lb\n', {
        listeners: [{ host: '127.0.0.1', port: 0, tls: true }],
        tls: { files: { certFile: serverCert.certFile, keyFile: other.keyFile }, http2: false, http2MaxStreams: 100 },
      }),
    ).rejects.toThrow(`the key ${other.keyFile} does not belong to the certificate ${serverCert.certFile}`);
  });
});

