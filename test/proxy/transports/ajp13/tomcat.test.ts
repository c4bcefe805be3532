/**
 * The AJP13 transport against real Tomcat 10 instances (test/helpers/tomcat.ts): tc1 plain, tc2 with a
 * required secret and a 1 s keep-alive timeout (used last, then killed).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '../../../../src/proxy/transport.js';
import { createAjp13Transport, type Ajp13Transport } from '../../../../src/proxy/transports/ajp13/index.js';
import { startTomcat, tomcatTestsEnabled, type TomcatInstance } from '../../../helpers/tomcat.js';
import { bufferBody, generatedBody, headerValues, member, readAll, readJson, rejection, replyChunks, request, until } from './fixtures.js';

const SECRET = 'jk-test-secret';

/** Values the servlet saw for a request header (Tomcat keeps the case the header was sent in). */
function seen(echo: Record<string, unknown>, name: string): string[] {
  const headers = echo.headers as Record<string, string[]>;
  return Object.keys(headers)
    .filter((k) => k.toLowerCase() === name)
    .flatMap((k) => headers[k]);
}

/** The bytes /app/big sends: byte i = i % 251. */
function bigSha(n: number): string {
  const block = Buffer.alloc(251 * 64);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  const h = createHash('sha256');
  for (let left = n; left > 0; left -= block.length) h.update(block.subarray(0, Math.min(left, block.length)));
  return h.digest('hex');
}

describe.skipIf(!tomcatTestsEnabled())('AJP13 transport against Tomcat 10', () => {
  let tc1: TomcatInstance;
  let tc2: TomcatInstance;
  const opened: Transport[] = [];

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startTomcat({ jvmRoute: 'tc1' }),
      startTomcat({ jvmRoute: 'tc2', secret: SECRET, ajpAttributes: { keepAliveTimeout: 1000 } }),
    ]);
    for (const s of started) if (s.status === 'fulfilled') (s.value.jvmRoute === 'tc1' ? (tc1 = s.value) : (tc2 = s.value));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    console.log(`Tomcat start: tc1 ${tc1.startMs} ms, tc2 ${tc2.startMs} ms`);
  });

  afterAll(async () => {
    await Promise.all(opened.map((t) => t.close()));
    await Promise.all([tc1?.stop(), tc2?.stop()]);
  });

  function transport(tc: TomcatInstance, over: Parameters<typeof member>[0] = {}): Ajp13Transport {
    const t = createAjp13Transport(member({ port: tc.ajpPort, ...over }));
    opened.push(t);
    return t;
  }

  describe('requests and replies', () => {
    let t: Ajp13Transport;
    beforeAll(() => {
      t = transport(tc1);
    });

    it('forwards a GET with its URI, query, headers, client address and activation', async () => {
      const res = await t.forward(
        request({
          url: '/app/echo;foo=bar?a=1&b=%20x',
          headers: ['Host', 'shop.example:8443', 'Accept', 'text/plain', 'X-Custom', 'one', 'x-custom', 'two', 'User-Agent', 'jk-test'],
          remoteAddress: '10.9.8.7',
          remotePort: 51234,
          serverName: 'shop.example',
          serverPort: 8443,
          activation: 'DIS',
        }),
      );
      expect(res.status).toBe(200);
      expect(headerValues(res, 'content-type')).toEqual(['application/json;charset=UTF-8']);
      const echo = await readJson(res);
      expect(echo).toMatchObject({
        jvmRoute: 'tc1',
        method: 'GET',
        uri: '/app/echo;foo=bar',
        query: 'a=1&b=%20x',
        protocol: 'HTTP/1.1',
        scheme: 'http',
        secure: false,
        serverName: 'shop.example',
        serverPort: 8443,
        remoteAddr: '10.9.8.7',
        remotePort: 51234,
        activation: 'DIS',
        contentLength: -1,
        bodyLength: 0,
      });
      expect(seen(echo, 'accept')).toEqual(['text/plain']);
      expect(seen(echo, 'x-custom')).toEqual(['one', 'two']);
      expect(seen(echo, 'user-agent')).toEqual(['jk-test']);
      expect(seen(echo, 'host')).toEqual(['shop.example:8443']);
      expect(res.bytesSent()).toBeGreaterThan(100);
      expect(res.bytesReceived()).toBeGreaterThan(Number(headerValues(res, 'content-length')[0]));
    });

    it('makes JK_LB_ACTIVATION=ACT visible, and server name/port come from AJP without a Host header', async () => {
      const echo = await readJson(await t.forward(request({ activation: 'ACT', headers: [], serverName: 'lb.example', serverPort: 8081 })));
      expect(echo).toMatchObject({ activation: 'ACT', serverName: 'lb.example', serverPort: 8081 });
    });

    it('reuses one pooled connection for sequential requests', async () => {
      for (let i = 0; i < 5; i++) await readAll(await t.forward(request()));
      expect(t.connected).toBe(1);
      expect(t.busy).toBe(0);
    });

    it('sends methods outside the AJP table (PATCH) and WebDAV ones', async () => {
      for (const method of ['PATCH', 'PROPFIND', 'DELETE', 'PUT']) {
        expect(await readJson(await t.forward(request({ method })))).toMatchObject({ method });
      }
    });

    it('answers HEAD with headers and no body', async () => {
      const res = await t.forward(request({ method: 'HEAD', url: '/app/big?bytes=1000&length=1' }));
      expect(res.status).toBe(200);
      expect(headerValues(res, 'content-length')).toEqual(['1000']);
      expect((await readAll(res)).length).toBe(0);
    });

    it('streams a 10 MB POST body and Tomcat receives every byte', async () => {
      const { body, sha256 } = generatedBody(10 * 1024 * 1024);
      const res = await t.forward(request({ method: 'POST', headers: ['Content-Type', 'application/octet-stream', 'Content-Length', String(body.length)], body }));
      expect(await readJson(res)).toMatchObject({ contentLength: body.length, bodyLength: body.length, bodySha256: sha256 });
      // AJP framing: 6 bytes per body packet on top of the data.
      expect(res.bytesSent()).toBeGreaterThan(body.length + 6 * Math.floor(body.length / 8186));
    });

    it('sends a chunked upload (no Content-Length) until the empty end packet', async () => {
      const { body, sha256 } = generatedBody(3 * 1024 * 1024 + 17, true);
      const res = await t.forward(request({ method: 'POST', body }));
      expect(await readJson(res)).toMatchObject({ contentLength: -1, bodyLength: 3 * 1024 * 1024 + 17, bodySha256: sha256 });
      expect(t.connected).toBe(1);
    });

    it('sends a small body in the first packet and states its length', async () => {
      const data = Buffer.from('name=value&x=%C3%A9');
      const res = await t.forward(request({ method: 'POST', headers: ['content-type', 'application/x-www-form-urlencoded'], body: bufferBody(data) }));
      expect(await readJson(res)).toMatchObject({ contentLength: data.length, bodyLength: data.length, bodySha256: createHash('sha256').update(data).digest('hex') });
    });

    it('passes cookies both ways, including several Set-Cookie headers', async () => {
      const res = await t.forward(request({ url: '/app/echo?cookies=alpha,beta,gamma&header=X-Reply:yes', headers: ['Cookie', 'a=1; b=2', 'Cookie', 'c=3'] }));
      expect(headerValues(res, 'set-cookie')).toEqual(['alpha=v-alpha; Path=/', 'beta=v-beta; Path=/', 'gamma=v-gamma; Path=/']);
      expect(headerValues(res, 'x-reply')).toEqual(['yes']);
      const echo = await readJson(res);
      expect(seen(echo, 'cookie')).toEqual(['a=1; b=2', 'c=3']);
    });

    it('gets a Tomcat session id ending in .<jvmRoute> and keeps the session with the cookie', async () => {
      const first = await t.forward(request({ url: '/app/session' }));
      const cookie = headerValues(first, 'set-cookie').find((c) => c.startsWith('JSESSIONID='));
      expect(cookie).toMatch(/^JSESSIONID=[0-9A-F]+\.tc1; Path=\/app; HttpOnly$/);
      const s1 = await readJson(first);
      expect(s1).toMatchObject({ jvmRoute: 'tc1', hits: 1, isNew: true });
      const id = (cookie as string).split(';')[0];
      const second = await readJson(await t.forward(request({ url: '/app/session', headers: ['Cookie', id] })));
      expect(second).toMatchObject({ sessionId: s1.sessionId, hits: 2, isNew: false });
    });

    it('relays the backend status and message', async () => {
      const res = await t.forward(request({ url: '/app/echo?status=503' }));
      expect(res.status).toBe(503);
      await readAll(res);
      const missing = await t.forward(request({ url: '/app/nothing-here' }));
      expect(missing.status).toBe(404);
      await readAll(missing);
    });

    it('streams a 20 MB chunked reply with backpressure and gets every byte', async () => {
      const n = 20 * 1024 * 1024;
      const res = await t.forward(request({ url: `/app/big?bytes=${n}` }));
      expect(headerValues(res, 'content-length')).toEqual([]);
      // Not reading: Tomcat must be held back by backpressure, not buffered whole in memory.
      await new Promise((r) => setTimeout(r, 300));
      expect(res.bytesReceived()).toBeLessThan(n / 2);
      expect(t.busy).toBe(1);
      const hash = createHash('sha256');
      let total = 0;
      for await (const c of replyChunks(res.body)) {
        hash.update(c);
        total += c.length;
      }
      expect(total).toBe(n);
      expect(hash.digest('hex')).toBe(bigSha(n));
      expect(t.busy).toBe(0);
      expect(t.connected).toBe(1);
    });

    it('streams a reply with Content-Length', async () => {
      const n = 3 * 1024 * 1024 + 5;
      const res = await t.forward(request({ url: `/app/big?bytes=${n}&length=1` }));
      expect(headerValues(res, 'content-length')).toEqual([String(n)]);
      const data = await readAll(res);
      expect(createHash('sha256').update(data).digest('hex')).toBe(bigSha(n));
    });

    it('closes the connection when the caller discards the reply body early', async () => {
      expect(t.connected).toBe(1);
      const res = await t.forward(request({ url: `/app/big?bytes=${8 * 1024 * 1024}` }));
      res.body.discard();
      expect(t.connected).toBe(0);
      expect(await readJson(await t.forward(request()))).toMatchObject({ method: 'GET' });
      expect(t.connected).toBe(1);
    });

    it('refuses a request whose forward packet exceeds max_packet_size (413) without using a connection', async () => {
      const err = await rejection(t.forward(request({ headers: ['X-Huge', 'h'.repeat(9000)] })));
      expect(err.kind).toBe('too_large');
      expect(err.nothingSent).toBe(true);
      expect(t.busy).toBe(0);
    });

    it('carries a large header with max_packet_size raised on both sides', async () => {
      const tc = await startTomcat({ jvmRoute: 'tc3', packetSize: 65536 });
      try {
        const big = transport(tc, { maxPacketSize: 65536 });
        const { body, sha256 } = generatedBody(1024 * 1024);
        const res = await big.forward(request({ method: 'PUT', headers: ['X-Huge', 'h'.repeat(30000)], body }));
        const echo = await readJson(res);
        expect(echo).toMatchObject({ bodySha256: sha256 });
        const huge = seen(echo, 'x-huge');
        expect(huge.map((v) => v.length)).toEqual([30000]);
        expect(huge[0]).toBe('h'.repeat(30000));
        await big.close();
      } finally {
        await tc.stop();
      }
    });
  });

  describe('timeouts, aborts and the pool', () => {
    it('fails with reply_timeout when the servlet is silent, and drops the connection', async () => {
      const t = transport(tc1);
      const err = await rejection(t.forward(request({ url: '/app/echo?sleepMs=1500', replyTimeoutMs: 300 })));
      expect(err.kind).toBe('reply_timeout');
      expect(t.connected).toBe(0);
    });

    it('reports reply_timeout on the body stream when the reply stalls after the head', async () => {
      const t = transport(tc1);
      const res = await t.forward(request({ url: '/app/stall?ms=1500', replyTimeoutMs: 300 }));
      expect(res.status).toBe(200);
      const err = await rejection(readAll(res));
      expect(err.kind).toBe('reply_timeout');
      expect(t.connected).toBe(0);
    });

    it('stops and closes the connection when the client goes away', async () => {
      const t = transport(tc1);
      const ac = new AbortController();
      const p = t.forward(request({ url: '/app/echo?sleepMs=1000', signal: ac.signal }));
      setTimeout(() => ac.abort(), 100);
      const err = await rejection(p);
      expect(err.kind).toBe('client_error');
      expect(t.connected).toBe(0);
    });

    it('is busy when every connection is in use past connection_acquire_timeout, and waits within it', async () => {
      const t = transport(tc1, { connectionPoolSize: 1, connectionAcquireTimeoutMs: 100 });
      const slow = t.forward(request({ url: '/app/echo?sleepMs=700' }));
      await until(() => t.busy === 1, 'the first request to take the connection');
      const err = await rejection(t.forward(request()));
      expect(err.kind).toBe('busy');
      expect(err.nothingSent).toBe(true);
      await readAll(await slow);

      const patient = transport(tc1, { connectionPoolSize: 1, connectionAcquireTimeoutMs: 5000 });
      const first = patient.forward(request({ url: '/app/echo?sleepMs=300' }));
      const second = patient.forward(request({ url: '/app/echo?x=2' }));
      await readAll(await first);
      expect(await readJson(await second)).toMatchObject({ query: 'x=2' });
      expect(patient.connected).toBe(1);
    });

    it('closes idle connections after connection_pool_timeout at maintenance, down to minsize', async () => {
      const t = transport(tc1, { connectionPoolTimeoutSec: 1, connectionPoolMinsize: 1 });
      await Promise.all([0, 1, 2].map(async () => readAll(await t.forward(request({ url: '/app/echo?sleepMs=200' })))));
      expect(t.connected).toBe(3);
      t.maintain(Date.now());
      expect(t.connected).toBe(3);
      t.maintain(Date.now() + 2000);
      expect(t.connected).toBe(1);
    });
  });

  describe('CPing/CPong against a hung Tomcat (SIGSTOP)', () => {
    it('detects it before sending (prepost), at connect, and at idle probes; works again after SIGCONT', async () => {
      const prepost = transport(tc1, { name: 'prepost', ping: { prepostTimeoutMs: 300, pingTimeoutMs: 300 } });
      const onConnect = transport(tc1, { name: 'onConnect', ping: { connectTimeoutMs: 300, pingTimeoutMs: 300 } });
      const probed = transport(tc1, { name: 'probed', ping: { intervalSec: 1, pingTimeoutMs: 300 } });
      for (const t of [prepost, probed]) await readAll(await t.forward(request()));
      expect(prepost.connected).toBe(1);
      await tc1.pause();
      try {
        // (A reply timeout only bounds the test should a CPing wrongly pass.)
        const e1 = await rejection(prepost.forward(request({ method: 'POST', body: bufferBody(Buffer.from('not sent')), replyTimeoutMs: 5000 })));
        expect([e1.kind, e1.nothingSent]).toEqual(['connect', true]);
        expect(prepost.connected).toBe(0);
        const e2 = await rejection(onConnect.forward(request()));
        expect([e2.kind, e2.nothingSent]).toEqual(['connect', true]);
        probed.maintain(Date.now() + 5000);
        await until(() => probed.connected === 0, 'the idle probe to drop the connection');
      } finally {
        tc1.resume();
      }
      for (const t of [prepost, onConnect, probed]) {
        expect(await readJson(await t.forward(request({ replyTimeoutMs: 5000 }))), t.member.name).toMatchObject({ jvmRoute: 'tc1' });
      }
      probed.maintain(Date.now() + 5000);
      await until(() => probed.busy === 0, 'the idle probe to finish');
      expect(probed.connected).toBe(1);
    });
  });

  describe('secret, keep-alive close and a killed Tomcat (tc2)', () => {
    it('is let in with the matching secret', async () => {
      const t = transport(tc2, { secret: SECRET });
      expect(await readJson(await t.forward(request()))).toMatchObject({ jvmRoute: 'tc2' });
    });

    it('gets 403 from Tomcat with a wrong or missing secret, and the connection is not reused', async () => {
      for (const secret of ['wrong', '']) {
        const t = transport(tc2, { secret });
        const res = await t.forward(request());
        expect(res.status).toBe(403);
        await readAll(res);
        expect(t.connected).toBe(0);
      }
    });

    it('drops a pooled connection Tomcat closed after keepAliveTimeout and carries on with a new one', async () => {
      const t = transport(tc2, { secret: SECRET });
      await readAll(await t.forward(request()));
      expect(t.connected).toBe(1);
      await until(() => t.connected === 0, 'Tomcat to close the idle connection');
      expect(await readJson(await t.forward(request()))).toMatchObject({ jvmRoute: 'tc2' });
    });

    it('reports connect errors after the Tomcat is killed, never reusing its dead pooled connections', async () => {
      const t = transport(tc2, { secret: SECRET, connectionPoolSize: 2 });
      await Promise.all([0, 1].map(async () => readAll(await t.forward(request({ url: '/app/echo?sleepMs=100' })))));
      expect(t.connected).toBe(2);
      await tc2.kill();
      await until(() => t.connected === 0, 'the pool to notice the dead connections');
      const err = await rejection(t.forward(request()));
      expect([err.kind, err.nothingSent]).toEqual(['connect', true]);
      await tc2.restart();
      expect(await readJson(await t.forward(request()))).toMatchObject({ jvmRoute: 'tc2' });
    });
  });
});
