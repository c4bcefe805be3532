/**
 * Routing decisions observed through real sockets: client → balancer → fake Tomcats.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Act } from '../../src/routing/types.js';
import { fakeTomcatsForFile, portsOf } from '../helpers/fake-tomcat.js';
import { startBalancer, httpFarm, type TestBalancer } from '../helpers/balancer.js';
import { get, sessionCookie } from '../helpers/http-client.js';

const MOUNTS = '/app/*=lb\n';
const backends = fakeTomcatsForFile(['node1', 'node2', 'node3']);
let lb: TestBalancer | null = null;

afterEach(async () => {
  await lb?.close();
  lb = null;
});

const ports = () => portsOf(backends);
const member = (name: string) => lb!.app.farm.balancers.get('lb')!.memberByName(name)!;
const balancer = () => lb!.app.farm.balancers.get('lb')!;

async function newSession(): Promise<{ id: string; instance: string }> {
  const r = await get(lb!.url('/app/page'));
  expect(r.status).toBe(200);
  const id = sessionCookie(r);
  expect(id).not.toBeNull();
  return { id: id!, instance: r.json<{ instance: string }>().instance };
}

describe('stickiness', () => {
  it('keeps a session on its member by cookie and by ;jsessionid=', async () => {
    lb = await startBalancer(httpFarm(ports()), MOUNTS);
    const s = await newSession();
    expect(s.id.endsWith(`.${s.instance}`)).toBe(true);
    for (let i = 0; i < 5; i++) {
      const r = await get(lb.url('/app/page'), { cookie: `JSESSIONID=${s.id}` });
      expect(r.json().instance).toBe(s.instance);
    }
    const byPath = await get(lb.url(`/app/page;jsessionid=${s.id}?x=1`));
    expect(byPath.json().instance).toBe(s.instance);
    expect(byPath.json().hits).toBe(7);
    // The backend is told the activation and the route it was chosen for.
    expect(byPath.json().activation).toBe('ACT');
    expect(byPath.json().route).toBe(s.instance);
  });

  it('sends session-less requests 100/200/300 for lbfactor 1/2/3', async () => {
    lb = await startBalancer(
      httpFarm(ports(), 'worker.node1.lbfactor=1\nworker.node2.lbfactor=2\nworker.node3.lbfactor=3'),
      MOUNTS,
    );
    const before = { node1: backends.node1.served, node2: backends.node2.served, node3: backends.node3.served };
    const order: string[] = [];
    for (let i = 0; i < 600; i++) {
      const r = await get(lb.url('/app/x?nosession=1'));
      order.push(r.json<{ instance: string }>().instance);
    }
    const count = (n: string) => order.filter((x) => x === n).length;
    expect([count('node1'), count('node2'), count('node3')]).toEqual([100, 200, 300]);
    expect(backends.node1.served - before.node1).toBe(100);
    expect(backends.node3.served - before.node3).toBe(300);
  });
});

describe('activation', () => {
  it('a disabled member keeps its sessions and gets no new ones; stopped loses them', async () => {
    lb = await startBalancer(httpFarm(ports()), MOUNTS);
    let s = await newSession();
    while (s.instance !== 'node2') s = await newSession();
    balancer().setActivation(member('node2').index, Act.DISABLED);
    const sticky = await get(lb.url('/app/page'), { cookie: `JSESSIONID=${s.id}` });
    expect(sticky.json().instance).toBe('node2');
    expect(sticky.json().activation).toBe('DIS');
    for (let i = 0; i < 20; i++) expect((await newSession()).instance).not.toBe('node2');

    balancer().setActivation(member('node2').index, Act.STOPPED);
    const moved = await get(lb.url('/app/page'), { cookie: `JSESSIONID=${s.id}` });
    expect(moved.status).toBe(200);
    expect(moved.json().instance).not.toBe('node2');
    // The new member does not know the session: it issues a new one (session lost, request served).
    expect(sessionCookie(moved)).not.toBeNull();
  });

  it('sticky_session_force answers 503 instead of moving a session', async () => {
    lb = await startBalancer(httpFarm(ports(), 'worker.lb.sticky_session_force=true'), MOUNTS);
    let s = await newSession();
    while (s.instance !== 'node1') s = await newSession();
    balancer().setActivation(member('node1').index, Act.STOPPED);
    const r = await get(lb.url('/app/page'), { cookie: `JSESSIONID=${s.id}` });
    expect(r.status).toBe(503);
    expect(r.text).toMatch(/no application server could serve/);
    expect(r.text).not.toMatch(/node1|lb|sticky/); // internals stay in the log
  });
});

describe('failover paths', () => {
  it('moves a session to a member of the same domain', async () => {
    lb = await startBalancer(
      httpFarm(ports(), 'worker.node1.domain=dcA\nworker.node2.domain=dcA\nworker.node3.domain=dcB'),
      MOUNTS,
    );
    let s = await newSession();
    while (s.instance !== 'node1') s = await newSession();
    balancer().setActivation(member('node1').index, Act.STOPPED);
    for (let i = 0; i < 6; i++) {
      const r = await get(lb.url('/app/page?nosession=1'), { cookie: `JSESSIONID=${s.id}` });
      expect(r.json().instance).toBe('node2');
    }
  });

  it('redirects to a disabled hot standby when the member dies', async () => {
    lb = await startBalancer(
      httpFarm({ node1: backends.node1.port, node2: backends.node2.port }, 'worker.node1.redirect=node2\nworker.node2.activation=D'),
      MOUNTS,
    );
    const s = await newSession();
    expect(s.instance).toBe('node1'); // the standby takes no new sessions
    await backends.node1.kill();
    try {
      const r = await get(lb.url('/app/page'), { cookie: `JSESSIONID=${s.id}` });
      expect(r.status).toBe(200);
      expect(r.json().instance).toBe('node2');
      // New requests also go to the standby while node1 is down.
      expect((await get(lb.url('/app/page'))).json().instance).toBe('node2');
    } finally {
      await backends.node1.revive();
    }
  });

  it('uses the next distance group only when the nearer one is all down', async () => {
    lb = await startBalancer(httpFarm(ports(), 'worker.node3.distance=1'), MOUNTS);
    for (let i = 0; i < 10; i++) expect((await get(lb.url('/app/x?nosession=1'))).json().instance).not.toBe('node3');
    balancer().setActivation(member('node1').index, Act.STOPPED);
    balancer().setActivation(member('node2').index, Act.STOPPED);
    for (let i = 0; i < 4; i++) expect((await get(lb.url('/app/x?nosession=1'))).json().instance).toBe('node3');
  });

  it('serves a standalone http worker mounted directly, as mod_jk maps straight to an ajp13 worker', async () => {
    lb = await startBalancer(`worker.list=solo\nworker.solo.type=http\nworker.solo.host=127.0.0.1\nworker.solo.port=${backends.node3.port}\n`, '/app/*=solo\n');
    const r = await get(lb.url('/app/page'));
    expect(r.status).toBe(200);
    expect(r.json().instance).toBe('node3');
    // Not a balancer for the status worker.
    expect(lb.app.farm.balancers.size).toBe(0);
  });

  it('answers 404 for unmounted paths and never proxies them', async () => {
    lb = await startBalancer(httpFarm(ports()), MOUNTS);
    const before = backends.node1.served + backends.node2.served + backends.node3.served;
    const r = await get(lb.url('/other'));
    expect(r.status).toBe(404);
    expect(backends.node1.served + backends.node2.served + backends.node3.served).toBe(before);
  });
});

describe('answers shaped by configuration', () => {
  it('set_session_cookie: a route-only cookie names the member that answered a non-sticky request', async () => {
    lb = await startBalancer(httpFarm(ports(), 'worker.lb.set_session_cookie=true'), MOUNTS);
    const r = await get(lb.url('/app/x?nosession=1'));
    const instance = r.json<{ instance: string }>().instance;
    const sc = r.headers['set-cookie'];
    expect(sc).toBe(`JSESSIONID=.${instance};PATH=/;HttpOnly`);
    // Following that cookie is sticky (and exact, so no new stickiness cookie).
    const again = await get(lb.url('/app/x?nosession=1'), { cookie: `JSESSIONID=.${instance}` });
    expect(again.json().instance).toBe(instance);
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('use_server_errors: a backend error page is replaced by our own for that mount', async () => {
    lb = await startBalancer(httpFarm(ports()), '/app/*=lb;use_server_errors=500\n');
    const r = await get(lb.url('/app/fail-on/node1/500'), { cookie: 'JSESSIONID=A.node1' });
    expect(r.status).toBe(500);
    expect(r.text).not.toContain('from node1');
    expect(r.text).toContain('500 Internal Server Error');
  });

  it('a keep-alive socket the backend closes between requests is not a member error', async () => {
    // Like Tomcat after keepAliveTimeout / maxKeepAliveRequests: idle sockets are closed without
    // warning (no Keep-Alive hint, no Connection: close), so the balancer sometimes reuses one that
    // is already going away.
    const sockets = new Set<net.Socket>();
    const raw = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      let buf = '';
      let idle: NodeJS.Timeout | null = null;
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        while (buf.includes('\r\n\r\n')) {
          buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
          if (idle) clearTimeout(idle);
          sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"instance":"quick"}');
          idle = setTimeout(() => sock.destroy(), 15);
        }
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    try {
      lb = await startBalancer(httpFarm({ quick: (raw.address() as net.AddressInfo).port }), MOUNTS);
      for (let i = 0; i < 60; i++) {
        expect((await get(lb.url('/app/x'))).status).toBe(200);
        await new Promise((r) => setTimeout(r, 10 + (i % 6)));
      }
      expect(member('quick').errors).toBe(0);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });
});
