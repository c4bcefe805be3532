/**
 * State changes only for requests addressed to one of the balancer's own names (DNS rebinding),
 * and never on a browser's cross-site evidence — Sec-Fetch-Site and Origin when present, else Referer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { parseProps, startHarness, type Harness } from './harness.js';
import { farmWithStatus, startProductWith, STATUS_MOUNTS, type Product } from './product.js';

let h: Harness | null = null;
let product: Product | null = null;
let backend: FakeTomcat | null = null;
afterEach(async () => {
  await h?.close();
  await product?.close();
  await backend?.close();
  h = product = backend = null;
});

const result = (body: string) => {
  const p = parseProps(body);
  return { type: p.get('worker.result.type'), message: p.get('worker.result.message') };
};
const DENIED = { type: 'ERROR', message: 'Access denied.' };
const OK = { type: 'OK', message: 'Action finished' };
const DRAIN = '/jkstatus?cmd=update&w=lb&sw=n1&vwa=d&mime=prop';

describe('the Host of a change must be one of the balancer\'s names', () => {
  it('refuses a rebound page: loopback client, Host evil.example, matching Origin', async () => {
    h = await startHarness();
    const port = new URL(h.base).port;
    const r = await h.raw(DRAIN, { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'sec-fetch-site': 'same-origin' });
    expect(result(r.body)).toEqual(DENIED);
    expect(result((await h.raw('/jkstatus?cmd=reset&w=lb&mime=prop', { host: 'evil.example' })).body)).toEqual(DENIED);
    expect(result((await h.raw('/jkstatus?cmd=recover&w=lb&sw=n1&mime=prop', { host: 'evil.example' })).body)).toEqual(DENIED);
    // Nothing changed, and the log says why.
    expect(parseProps((await h.get('mime=prop')).body).get('worker.n1.activation')).toBe('ACT');
    const denial = h.logs.find((l) => l.msg === 'status access denied');
    expect(String(denial?.obj.reason)).toContain("Host 'evil.example:");
  });

  it('still serves reads (and the edit form) to a foreign Host', async () => {
    h = await startHarness();
    const list = await h.raw('/jkstatus?mime=prop', { host: 'evil.example' });
    expect(result(list.body)).toEqual(OK);
    expect(parseProps(list.body).get('worker.n1.activation')).toBe('ACT');
    expect((await h.raw('/jkstatus?cmd=edit&w=lb&sw=n1', { host: 'evil.example' })).body).toContain('name="vwa"');
  });

  const own = ['localhost', 'LOCALHOST:8080', 'localhost.', '127.0.0.1', '127.0.0.1:80', '127.8.9.10:8080', '[::1]', '[::1]:8080'];
  for (const host of own) {
    it(`accepts the loopback name ${host}`, async () => {
      h = await startHarness({ ownNames: [] });
      expect(result((await h.raw(DRAIN, { host })).body)).toEqual(OK);
    });
  }

  it('accepts the listen address and --server-name names, in any case and with any port', async () => {
    h = await startHarness({ ownNames: ['10.1.2.3', 'lb.example.com', '[fd00::7]'] });
    for (const host of ['10.1.2.3:8080', 'LB.Example.Com', 'lb.example.com.:80', '[fd00::7]:80']) {
      expect(result((await h.raw('/jkstatus?cmd=reset&w=lb&mime=prop', { host })).body), host).toEqual(OK);
    }
    for (const host of ['10.1.2.4', 'example.com', 'lb.example.com.evil.example', 'x.localhost']) {
      expect(result((await h.raw('/jkstatus?cmd=reset&w=lb&mime=prop', { host })).body), host).toEqual(DENIED);
    }
  });

  it('start.ts fills the names from --server-name and the listen address', async () => {
    backend = await startFakeTomcat('n1');
    product = await startProductWith({ workers: farmWithStatus({ n1: backend.port }), mounts: STATUS_MOUNTS }, { serverNames: ['lb.example.com'] });
    const port = product.port;
    expect(result((await product.get(DRAIN, { host: `lb.example.com:${port}` })).body)).toEqual(OK);
    expect(result((await product.get('/jkstatus?cmd=update&w=lb&sw=n1&vwa=a&mime=prop', { host: `127.0.0.1:${port}` })).body)).toEqual(OK);
    expect(result((await product.get(DRAIN, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` })).body)).toEqual(DENIED);
    expect(parseProps((await product.get('/jkstatus?mime=prop')).body).get('worker.n1.activation')).toBe('ACT');
  });
});

describe('cross-site evidence', () => {
  it('refuses a change whose only browser header is a foreign Referer', async () => {
    h = await startHarness();
    for (const referer of ['http://evil.example/page', 'https://127.0.0.1/', 'not a url']) {
      expect(result((await h.raw(DRAIN, { referer })).body), referer).toEqual(DENIED);
    }
    expect(parseProps((await h.get('mime=prop')).body).get('worker.n1.activation')).toBe('ACT');
  });

  it('accepts a Referer from the page itself', async () => {
    h = await startHarness();
    expect(result((await h.raw(DRAIN, { referer: `${h.base}?cmd=list&ui=classic` })).body)).toEqual(OK);
  });

  it('lets Sec-Fetch-Site and Origin decide over a Referer', async () => {
    h = await startHarness();
    const origin = new URL(h.base).origin;
    // A same-origin page with a referrer policy that sends something odd: the fetch metadata decides.
    expect(result((await h.raw(DRAIN, { 'sec-fetch-site': 'same-origin', referer: 'http://evil.example/' })).body)).toEqual(OK);
    expect(result((await h.raw('/jkstatus?cmd=reset&w=lb&mime=prop', { origin, referer: 'http://evil.example/' })).body)).toEqual(OK);
    expect(result((await h.raw('/jkstatus?cmd=reset&w=lb&mime=prop', { 'sec-fetch-site': 'same-origin', origin: 'http://evil.example' })).body)).toEqual(DENIED);
    expect(result((await h.raw('/jkstatus?cmd=reset&w=lb&mime=prop', { 'sec-fetch-site': 'bogus' })).body)).toEqual(DENIED);
  });
});
