/**
 * The client's TLS session as a real Tomcat 10 application sees it behind the TLS listener:
 * - over AJP (no Tomcat configuration): the is_ssl flag and the SSL attributes, as mod_jk sends them;
 * - over HTTP, with Tomcat's RemoteIpValve (X-Forwarded-Proto) and SSLValve pointed at our X-SSL-*
 *   headers (the configuration the README gives).
 * The servlet reports isSecure(), getScheme(), the cipher, key size, session id and the subject of
 * jakarta.servlet.request.X509Certificate; each is compared with what the client negotiated.
 */
import https from 'node:https';
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type TestBalancer } from '../helpers/balancer.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { startTomcat, tomcatTestsEnabled, type TomcatInstance } from '../helpers/tomcat.js';

const VALVES = `
  <Valve className="org.apache.catalina.valves.RemoteIpValve" protocolHeader="X-Forwarded-Proto" />
  <Valve className="org.apache.catalina.valves.SSLValve" sslClientEscapedCertHeader="X-SSL-Client-Cert" sslCipherHeader="X-SSL-Cipher"
         sslSessionIdHeader="X-SSL-Session-Id" sslCipherUserKeySizeHeader="X-SSL-Key-Size" />`;

interface Echo {
  secure: boolean;
  scheme: string;
  serverPort: number;
  cipherSuite: string;
  keySize: string;
  sslSession: string;
  sslProtocol: string;
  clientCertSubject: string | null;
  jvmRoute: string;
}

/** What the client negotiated, beside what the servlet saw. */
interface Seen {
  echo: Echo;
  cipher: string;
  protocol: string;
}

const enabled = tomcatTestsEnabled();

describe.runIf(enabled)('TLS facts reach a real Tomcat 10 application', () => {
  let pki: TestPki;
  let ajpTomcat: TomcatInstance;
  let httpTomcat: TomcatInstance;
  let overAjp: TestBalancer;
  let overHttp: TestBalancer;
  let alice: { cert: Buffer; key: Buffer };

  const tlsPort = (b: TestBalancer) => b.app.addresses[0].port;
  const start = (member: string) => {
    const server = pki.server('balancer');
    return startBalancer(`worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=tc\n${member}\n`, '/app/*=lb\n', {
      listeners: [{ host: '127.0.0.1', port: 0, tls: true }],
      tls: { files: { ...server, caFile: pki.caFile, clientCert: 'request' }, http2: true, http2MaxStreams: 100 },
    });
  };

  beforeAll(async () => {
    pki = makePki();
    alice = pki.client('/CN=alice/O=jkb tests');
    const started = await Promise.allSettled([startTomcat({ jvmRoute: 'tcajp' }), startTomcat({ jvmRoute: 'tchttp', hostValves: VALVES })]);
    for (const s of started) if (s.status === 'fulfilled') (s.value.jvmRoute === 'tcajp' ? (ajpTomcat = s.value) : (httpTomcat = s.value));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    overAjp = await start(`worker.tc.type=ajp13\nworker.tc.host=127.0.0.1\nworker.tc.port=${ajpTomcat.ajpPort}\nworker.tc.route=tcajp`);
    overHttp = await start(`worker.tc.type=http\nworker.tc.host=127.0.0.1\nworker.tc.port=${httpTomcat.httpPort}\nworker.tc.route=tchttp`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([overAjp?.close(), overHttp?.close()]);
    await Promise.all([ajpTomcat?.stop(), httpTomcat?.stop()]);
    pki?.close();
  });

  function viaHttp1(b: TestBalancer, client?: { cert: Buffer; key: Buffer }): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: tlsPort(b), path: '/app/echo', ca: pki.ca, agent: false, ...client }, (res) => {
        const socket = res.socket as TLSSocket;
        const cipher = socket.getCipher().name;
        const protocol = socket.getProtocol() ?? '';
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve({ echo: JSON.parse(body) as Echo, cipher, protocol }) : reject(new Error(`${res.statusCode}: ${body}`))));
      });
      req.on('error', reject);
    });
  }

  function viaHttp2(b: TestBalancer): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(`https://127.0.0.1:${tlsPort(b)}`, { ca: pki.ca, ...alice });
      session.on('error', reject);
      const stream = session.request({ ':path': '/app/echo' });
      let body = '';
      stream.on('data', (c) => (body += c));
      stream.on('end', () => {
        const socket = session.socket as TLSSocket;
        const seen = { echo: JSON.parse(body) as Echo, cipher: socket.getCipher().name, protocol: socket.getProtocol() ?? '' };
        session.close();
        resolve(seen);
      });
      stream.on('error', reject);
    });
  }

  function expectSecure({ echo, cipher }: Seen): void {
    expect(echo.secure).toBe(true);
    expect(echo.scheme).toBe('https');
    expect(echo.cipherSuite).toBe(cipher);
    expect(Number(echo.keySize)).toBe(cipher.includes('128') ? 128 : 256);
  }

  it('over AJP: isSecure, https, the cipher, key size, session id, protocol and the client certificate', async () => {
    const seen = await viaHttp1(overAjp, alice);
    expectSecure(seen);
    expect(seen.echo.jvmRoute).toBe('tcajp');
    expect(seen.echo.serverPort).toBe(tlsPort(overAjp));
    expect(seen.echo.sslProtocol).toBe(seen.protocol);
    if (seen.protocol === 'TLSv1.3') expect(seen.echo.sslSession).toMatch(/^[0-9A-F]{64}$/);
    expect(seen.echo.clientCertSubject).toBe('O=jkb tests,CN=alice');
  });

  it('over AJP without a client certificate: still secure, no certificate', async () => {
    const seen = await viaHttp1(overAjp);
    expectSecure(seen);
    expect(seen.echo.clientCertSubject).toBeNull();
  });

  it('over AJP from an HTTP/2 client: the same facts', async () => {
    const seen = await viaHttp2(overAjp);
    expectSecure(seen);
    expect(seen.echo.clientCertSubject).toBe('O=jkb tests,CN=alice');
  });

  it('over HTTP with RemoteIpValve and SSLValve: the same facts from the X-SSL-* headers', async () => {
    const seen = await viaHttp1(overHttp, alice);
    expectSecure(seen);
    expect(seen.echo.jvmRoute).toBe('tchttp');
    if (seen.protocol === 'TLSv1.3') expect(seen.echo.sslSession).toMatch(/^[0-9A-F]{64}$/);
    expect(seen.echo.clientCertSubject).toBe('O=jkb tests,CN=alice');
    const none = await viaHttp1(overHttp);
    expectSecure(none);
    expect(none.echo.clientCertSubject).toBeNull();
  });
});
