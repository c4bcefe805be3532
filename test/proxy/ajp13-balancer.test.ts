/**
 * ajp13 members through the whole balancer, against two real Tomcat 10 instances: stickiness on
 * Tomcat-issued `JSESSIONID=….<jvmRoute>`, a Tomcat killed (failover, member ERR) and its recovery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { State } from '../../src/routing/types.js';
import { startBalancer, type TestBalancer } from '../helpers/balancer.js';
import { get, sessionCookie } from '../helpers/http-client.js';
import { startTomcat, tomcatTestsEnabled, type TomcatInstance } from '../helpers/tomcat.js';

const enabled = tomcatTestsEnabled();
let tc: TomcatInstance[] = [];
let lb: TestBalancer;

beforeAll(async () => {
  if (!enabled) return;
  tc = await Promise.all([startTomcat({ jvmRoute: 'tc1' }), startTomcat({ jvmRoute: 'tc2' })]);
  const workers = [
    'worker.list=lb',
    'worker.maintain=1',
    'worker.lb.type=lb',
    'worker.lb.balance_workers=tc1,tc2',
    'worker.lb.recover_time=1',
    ...tc.flatMap((t) => [`worker.${t.jvmRoute}.type=ajp13`, `worker.${t.jvmRoute}.host=127.0.0.1`, `worker.${t.jvmRoute}.port=${t.ajpPort}`]),
  ].join('\n');
  lb = await startBalancer(workers, '/app/*=lb\n');
}, 120_000);

afterAll(async () => {
  await lb?.close();
  await Promise.all(tc.map((t) => t.stop()));
}, 60_000);

const member = (name: string) => lb.app.farm.balancers.get('lb')!.memberByName(name)!;

describe.runIf(enabled)('ajp13 members behind the balancer (real Tomcat 10)', () => {
  it('keeps each Tomcat-issued session on its Tomcat', async () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 6; i++) {
      const r = await get(lb.url('/app/session'));
      expect(r.status).toBe(200);
      const id = sessionCookie(r)!;
      const route = r.json<{ jvmRoute: string }>().jvmRoute;
      expect(id.endsWith(`.${route}`)).toBe(true);
      seen.set(id, route);
    }
    expect(new Set(seen.values())).toEqual(new Set(['tc1', 'tc2']));
    for (const [id, route] of seen) {
      const r = await get(lb.url('/app/session'), { cookie: `JSESSIONID=${id}` });
      expect(r.json<{ jvmRoute: string; hits: number }>()).toMatchObject({ jvmRoute: route, hits: 2 });
    }
  });

  it('fails a killed Tomcat over, marks it ERR, and recovers it after recover_time', async () => {
    let id = '';
    while (!id.endsWith('.tc2')) id = sessionCookie(await get(lb.url('/app/session')))!;
    await tc[1].kill();
    const moved = await get(lb.url('/app/session'), { cookie: `JSESSIONID=${id}` });
    expect(moved.status).toBe(200);
    expect(moved.json<{ jvmRoute: string }>().jvmRoute).toBe('tc1');
    expect(member('tc2').state).toBe(State.ERROR);

    await tc[1].restart();
    const deadline = Date.now() + 20_000;
    let back = false;
    while (!back && Date.now() < deadline) {
      const r = await get(lb.url('/app/session'));
      expect(r.status).toBe(200);
      back = r.json<{ jvmRoute: string }>().jvmRoute === 'tc2';
      if (!back) await new Promise((res) => setTimeout(res, 200));
    }
    expect(back).toBe(true);
  }, 90_000);
});
