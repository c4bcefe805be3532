/** Which requests the status page answers and which go on to the status worker, over real HTTP. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CSP, withStatusPage } from '../../src/status/page.js';
import { get } from '../helpers/http-client.js';

let server: http.Server;
let base: string;
const toWorker: string[] = [];

beforeAll(async () => {
  const worker = withStatusPage({
    handle(req, res) {
      toWorker.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('from the status worker');
    },
  });
  server = http.createServer((req, res) => worker.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jkstatus`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('status page routing', () => {
  it('serves the page for the plain list in HTML, with a strict CSP', async () => {
    const html = readFileSync(new URL('../../status-ui/index.html', import.meta.url), 'utf8');
    for (const q of ['', '?cmd=list', '?mime=html', '?cmd=list&mime=html']) {
      const r = await get(base + q);
      expect(r.status, q).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['content-security-policy']).toBe(PAGE_CSP);
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.text).toBe(html);
    }
    expect(PAGE_CSP).toMatch(/^default-src 'self';/);
    expect(PAGE_CSP).not.toContain('unsafe');
  });

  it('serves the assets with their content types', async () => {
    const js = await get(`${base}?asset=app.js`);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.text).toBe(readFileSync(new URL('../../status-ui/app.js', import.meta.url), 'utf8'));
    const css = await get(`${base}?asset=style.css`);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.headers['x-content-type-options']).toBe('nosniff');
    for (const bad of ['index.html', '../package.json', 'page', '']) {
      const r = await get(`${base}?asset=${encodeURIComponent(bad)}`);
      expect(r.status, bad).toBe(404);
      expect(r.text).not.toContain('jkbalancer');
    }
  });

  it('leaves everything else to the status worker', async () => {
    toWorker.length = 0;
    const others = [
      '?cmd=list&ui=classic',
      '?cmd=list&opt=2',
      '?cmd=list&re=10',
      '?cmd=list&mime=json',
      '?cmd=show&w=lb',
      '?cmd=update&mime=json&w=lb&sw=n1&vwa=d',
      '?cmd=list&cmd=list',
      '?asset=app.js&cmd=list',
    ];
    for (const q of others) expect((await get(base + q)).text, q).toBe('from the status worker');
    expect((await get(base, {}, 'POST', '')).text).toBe('from the status worker');
    expect(toWorker).toEqual([...others.map((q) => `GET /jkstatus${q}`), 'POST /jkstatus']);
  });

  it('answers HEAD without a body', async () => {
    const r = await get(base, {}, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(Number(r.headers['content-length'])).toBeGreaterThan(100);
  });
});
