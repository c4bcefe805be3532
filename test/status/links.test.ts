/**
 * The classic page's links and forms point at the status worker's mount path as the listener
 * normalised it, never at the raw request path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { startHarness } from './harness.js';
import { farmWithStatus, startProductWith, STATUS_MOUNTS, type Product } from './product.js';

/** Every href, action and refresh URL of a page, HTML entities decoded. */
function targets(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/(?:href|action)="([^"]*)"|content="\d+;url=([^"]*)"/g)) out.push((m[1] ?? m[2]).replace(/&amp;/g, '&'));
  return out;
}

let backend: FakeTomcat;
let product: Product;
beforeAll(async () => {
  backend = await startFakeTomcat('n1');
  product = await startProductWith({ workers: farmWithStatus({ n1: backend.port }), mounts: STATUS_MOUNTS });
});
afterAll(async () => {
  await product.close();
  await backend.close();
});

describe('classic page links', () => {
  it('a path that climbs out of another host\'s name still links to /jkstatus', async () => {
    const r = await product.get('//evil.example/..;/jkstatus?cmd=show&w=lb&ui=classic');
    expect(r.status).toBe(200);
    expect(r.body).toContain('Worker Status for lb');
    const links = targets(r.body);
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(l, l).toMatch(/^\/jkstatus(\?|$)/);
    expect(r.body).not.toContain('evil.example');
  });

  it('dot segments, doubled slashes and path parameters are gone from the links', async () => {
    const r = await product.get('/app/..//jkstatus/;x=1/./?cmd=list&ui=classic');
    expect(r.status).toBe(200);
    for (const l of targets(r.body)) expect(l, l).toMatch(/^\/jkstatus\/(\?|$)/);
  });

  it('the update result page redirects to the normalised path', async () => {
    const r = await product.get('//evil.example/..;/jkstatus?cmd=update&w=lb&vlx=1&from=list');
    expect(r.body).toContain('<meta http-equiv="Refresh" content="3;url=/jkstatus?cmd=list"/>');
  });

  it('characters the normalised path decoded are re-encoded, so a link means the same path', async () => {
    // The harness hands every path to the status worker, as a `/*=jkstatus` mount would.
    const h = await startHarness();
    try {
      const r = await h.raw('/\\evil.example/x%3Fy%23z%22?cmd=list&ui=classic');
      const links = targets(r.body);
      expect(links.length).toBeGreaterThan(5);
      for (const l of links) expect(l, l).toMatch(/^\/%5Cevil\.example\/x%3Fy%23z%22(\?|$)/);
    } finally {
      await h.close();
    }
  });
});
