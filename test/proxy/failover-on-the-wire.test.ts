/**
 * Failures on the wire: dead backends under load, recovery, fail_on_status, reply_timeout,
 * and clients that hang up — each leaves members and requests in the right state.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { State } from '../../src/routing/types.js';
import { fakeTomcatsForFile, portsOf } from '../helpers/fake-tomcat.js';
import { startBalancer, httpFarm, type TestBalancer } from '../helpers/balancer.js';
import { get, testAgent } from '../helpers/http-client.js';
import { until } from '../helpers/until.js';

const MOUNTS = '/app/*=lb\n';
const backends = fakeTomcatsForFile(['node1', 'node2', 'node3']);
let lb: TestBalancer | null = null;

afterEach(async () => {
  await lb?.close();
  lb = null;
});

const ports = () => portsOf(backends);
const member = (name: string) => lb!.app.farm.balancers.get('lb')!.memberByName(name)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a backend dies under load', () => {
  it('loses no session-less request beyond those in flight, marks the member ERR, recovers it later', async () => {
    lb = await startBalancer(httpFarm(ports(), 'worker.maintain=1\nworker.lb.recover_time=1'), MOUNTS);
    let failed = 0;
    let ok = 0;
    let running = true;
    const seen = new Set<string>();
    const workers = Array.from({ length: 8 }, async () => {
      while (running) {
        const r = await get(lb!.url('/app/x?nosession=1'));
        if (r.status === 200) {
          ok++;
          seen.add(r.json<{ instance: string }>().instance);
        } else failed++;
      }
    });
    // Counted in requests, not time, so a slow machine still kills the member under load and keeps
    // the load on well past the kill.
    try {
      await until(() => ok >= 30, '30 answers before the kill', 15_000);
      await backends.node2.kill();
      const atKill = ok;
      await until(() => member('node2').state === State.ERROR && ok >= atKill + 50, 'node2 in error and 50 answers after the kill', 15_000);
    } finally {
      running = false;
      await Promise.all(workers);
    }
    expect(member('node2').errors).toBeGreaterThan(0);
    // Requests in flight on node2 when it died were failed over (idempotent GETs): none lost.
    expect(failed).toBe(0);
    expect(seen).toContain('node2');

    await backends.node2.revive();
    // recover_time 1 s (strictly exceeded) + one maintenance interval, then a probe request.
    const deadline = Date.now() + 8000;
    let back = false;
    while (!back && Date.now() < deadline) {
      const r = await get(lb.url('/app/x?nosession=1'));
      expect(r.status).toBe(200);
      back = r.json<{ instance: string }>().instance === 'node2';
      await sleep(50);
    }
    expect(back).toBe(true);
    expect([State.OK, State.IDLE]).toContain(member('node2').state);
  });
});

describe('fail_on_status', () => {
  it('discards the reply, puts the member in error and fails over', async () => {
    lb = await startBalancer(httpFarm(ports(), 'worker.node1.fail_on_status=500\nworker.node1.retries=1'), MOUNTS);
    // Route the first request to node1 by cookie so the failing member is tried first.
    const r = await get(lb.url('/app/fail-on/node1/500'), { cookie: 'JSESSIONID=ABC.node1' });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('node1');
    expect(member('node1').state).toBe(State.ERROR);
  });

  it('a negative code fails over without marking the member', async () => {
    lb = await startBalancer(httpFarm(ports(), 'worker.node1.fail_on_status=-503\nworker.node1.retries=1'), MOUNTS);
    const r = await get(lb.url('/app/fail-on/node1/503'), { cookie: 'JSESSIONID=ABC.node1' });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('node1');
    expect(member('node1').state).not.toBe(State.ERROR);
    expect(member('node1').errors).toBe(0);
  });
});

describe('reply_timeout', () => {
  it('answers 504 when every member is too slow and counts the timeouts', async () => {
    lb = await startBalancer(
      httpFarm({ node1: backends.node1.port, node2: backends.node2.port }, 'worker.node1.reply_timeout=150\nworker.node2.reply_timeout=150\nworker.lb.retries=1'),
      MOUNTS,
    );
    const r = await get(lb.url('/app/slow?ms=3000'));
    expect(r.status).toBe(504);
    expect(member('node1').replyTimeouts + member('node2').replyTimeouts).toBeGreaterThanOrEqual(2);
    // max_reply_timeouts=0: a timeout beyond the tolerance is a global error.
    expect(member('node1').state).toBe(State.ERROR);
  });
});

describe('clients that hang up', () => {
  it('aborts the upstream request and counts a client error, not a member error', async () => {
    lb = await startBalancer(httpFarm({ node1: backends.node1.port }), MOUNTS);
    const HANGUPS = 10;
    for (let i = 0; i < HANGUPS; i++) {
      const r = await request(lb.url('/app/download?bytes=50000000'), { dispatcher: testAgent });
      let got = 0;
      for await (const chunk of r.body) {
        got += (chunk as Buffer).length;
        if (got > 200_000) break; // leaving the loop destroys the body: the client hangs up
      }
    }
    const deadline = Date.now() + 5000;
    while (member('node1').clientErrors < HANGUPS && Date.now() < deadline) await sleep(20);
    expect(member('node1').clientErrors).toBe(HANGUPS);
    expect(member('node1').errors).toBe(0);
    expect(member('node1').state).not.toBe(State.ERROR);
    expect(member('node1').busy).toBe(0);
    // The member keeps serving.
    expect((await get(lb.url('/app/x'))).status).toBe(200);
  });

  it('a client that stops sending its upload is a client error, not a member error', async () => {
    lb = await startBalancer(httpFarm({ node1: backends.node1.port }), MOUNTS);
    const sock = net.connect(lb.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('POST /app/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n');
    sock.write(Buffer.alloc(1_000_000, 7));
    await sleep(200);
    sock.destroy();
    const deadline = Date.now() + 5000;
    while (member('node1').clientErrors === 0 && Date.now() < deadline) await sleep(20);
    expect(member('node1').clientErrors).toBe(1);
    expect(member('node1').errors).toBe(0);
    expect(member('node1').busy).toBe(0);
    expect(member('node1').state).not.toBe(State.ERROR);
  });

  it('a backend dying mid-reply cuts the client response and marks the member', async () => {
    lb = await startBalancer(httpFarm({ node1: backends.node1.port }), MOUNTS);
    await expect(get(lb.url('/app/die-mid-reply'))).rejects.toThrow();
    const deadline = Date.now() + 3000;
    while (member('node1').errors === 0 && Date.now() < deadline) await sleep(20);
    expect(member('node1').errors).toBe(1);
    expect(member('node1').busy).toBe(0);
  });
});
