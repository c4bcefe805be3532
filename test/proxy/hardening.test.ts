/**
 * Hostile and broken clients against a real balancer (issue 11): none of them may end the process,
 * put a healthy member in error, hold a member's pool, or pass their own forwarding facts as ours.
 * Every test here failed on the code before the fix it guards.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { STATE_NAMES, State } from '../../src/routing/types.js';
import { fakeTomcatsForFile, portsOf } from '../helpers/fake-tomcat.js';
import { httpFarm, startBalancer, type TestBalancer } from '../helpers/balancer.js';
import { get } from '../helpers/http-client.js';
import type { AppOptions } from '../../src/proxy/app.js';
import { startCli } from '../helpers/cli-process.js';
import { recordEscapes } from '../helpers/escapes.js';
import { freePort } from '../helpers/tomcat.js';

const MOUNTS = '/app/*=lb\n';
const backends = fakeTomcatsForFile(['node1', 'node2', 'node3']);
let lb: TestBalancer | null = null;

afterEach(async () => {
  await lb?.close();
  lb = null;
});

/** Errors that would have ended a real process. */
const escaped = recordEscapes();

const LIMITS = { headerTimeoutMs: 2_000, bodyIdleTimeoutMs: 300, maxConnections: 1_000 };

async function start(extra = '', opts: Partial<AppOptions> = {}): Promise<TestBalancer> {
  lb = await startBalancer(httpFarm(portsOf(backends), extra), MOUNTS, { limits: LIMITS, ...opts });
  return lb;
}

/** Each member as name:state, with OK/IDLE (never used) counted as OK: what a client must not change. */
function states(b: TestBalancer): string[] {
  return b.app.farm.balancers.get('lb')!.members.map((m) => `${m.name}:${m.state === State.IDLE ? 'OK' : STATE_NAMES[m.state]}`);
}
const ALL_OK = ['node1:OK', 'node2:OK', 'node3:OK'];

/** The body of a raw HTTP/1.1 reply, de-chunked when it is chunked. */
function bodyOf(reply: string): string {
  const split = reply.indexOf('\r\n\r\n');
  const head = reply.slice(0, split);
  let rest = reply.slice(split + 4);
  if (!/transfer-encoding: chunked/i.test(head)) return rest;
  let out = '';
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const n = parseInt(rest.slice(0, eol), 16);
    if (!(n > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + n);
    rest = rest.slice(eol + 2 + n + 2);
  }
}

/** A raw client: writes `data`, resolves with everything the balancer sent until it closed or `ms` passed. */
function raw(port: number, data: string, ms = 3_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const done = (closed: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve({ text, closed });
    };
    const t = setTimeout(() => done(false), ms);
    s.on('data', (c) => (text += c.toString('latin1')));
    s.on('close', () => done(true));
    s.on('error', () => {});
    s.write(data);
  });
}

/** Open a socket, send `data`, keep it open: the caller ends it. */
function hold(port: number, data: string): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(data);
      resolve(s);
    });
    s.on('error', () => {});
  });
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('request bodies that fail before anything reads them', () => {
  it('many one-byte uploads to a saturated member, then hang-ups: the process lives, members stay OK', async () => {
    const b = await start('worker.node1.connection_pool_size=1\nworker.node1.connection_acquire_timeout=5000\nworker.lb.sticky_session_force=true', {
      limits: { ...LIMITS, bodyIdleTimeoutMs: 10_000 },
    });
    const head = (i: number) => `POST /app/upload HTTP/1.1\r\nHost: a\r\nCookie: JSESSIONID=x${i}.node1\r\nContent-Length: 1000\r\n\r\nx`;
    const sockets = await Promise.all(Array.from({ length: 20 }, (_, i) => hold(b.port, head(i))));
    await settle(300); // most of them wait for node1's one connection
    for (const s of sockets) s.destroy();
    await settle(300);
    expect(escaped).toEqual([]);
    expect(states(b)).toEqual(ALL_OK);
    expect((await get(b.url('/app/page'))).status).toBe(200);
  });
});

describe('a malformed request is the client’s fault, never a member’s', () => {
  it('two Host headers: 400 before any member is chosen; the pinned member stays OK', async () => {
    const b = await start('worker.lb.recovery_options=0');
    const served = backends.node2.served;
    const r = await raw(b.port, 'GET /app/page HTTP/1.1\r\nHost: a\r\nHost: b\r\nCookie: JSESSIONID=x.node2\r\nConnection: close\r\n\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(backends.node2.served).toBe(served);
    expect(states(b)).toEqual(ALL_OK);
  });

  it('an invalid Host value and two Content-Length headers: 400, no member touched', async () => {
    const b = await start();
    const before = backends.node1.served + backends.node2.served + backends.node3.served;
    const r1 = await raw(b.port, 'GET /app/page HTTP/1.1\r\nHost: a b/c\r\nConnection: close\r\n\r\n');
    expect(r1.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(backends.node1.served + backends.node2.served + backends.node3.served).toBe(before);
    expect(states(b)).toEqual(ALL_OK);
  });

  it('error bodies name no member and no failure kind', async () => {
    const b = await start('worker.lb.retries=1');
    await backends.node1.kill();
    await backends.node2.kill();
    await backends.node3.kill();
    try {
      const r = await get(b.url('/app/page'));
      expect(r.status).toBe(503);
      expect(r.text).not.toMatch(/node\d|connect|tried/);
      const line = b.logs.find((l) => l.msg === 'request failed');
      expect(String(line?.failovers)).toMatch(/node\d:connect/); // the why is in the log
    } finally {
      for (const n of ['node1', 'node2', 'node3'] as const) await backends[n].revive();
    }
  });
});

describe('bounded client resources', () => {
  it('stalled uploads get 408 after the body idle timeout and give the member’s pool back', async () => {
    const b = await start('worker.node1.connection_pool_size=2\nworker.lb.sticky_session_force=true');
    const head = `POST /app/upload HTTP/1.1\r\nHost: a\r\nCookie: JSESSIONID=s.node1\r\nContent-Length: 100\r\n\r\npartial`;
    const stalled = await Promise.all([raw(b.port, head, 5_000), raw(b.port, head, 5_000)]);
    for (const r of stalled) {
      expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(r.text).toMatch(/connection: close/i);
      expect(r.closed).toBe(true);
    }
    // node1's sticky users are served again, and node1 was never blamed.
    const r = await get(b.url('/app/page'), { cookie: 'JSESSIONID=s.node1' });
    expect(r.json().instance).toBe('node1');
    expect(states(b)).toEqual(ALL_OK);
    const line = b.logs.find((l) => l.status === 408);
    expect(line?.member).toBe('');
  });

  it('an upload slowed by the backend is not a stalled client', async () => {
    const b = await start();
    // 8 MiB through a backend that reads it all: backpressure pauses the client, never a 408.
    const body = Buffer.alloc(8 * 1024 * 1024, 0x62);
    const r = await get(b.url('/app/upload'), {}, 'POST', body);
    expect(r.status).toBe(200);
    expect(r.json().bytes).toBe(body.length);
  });

  it('a head that never completes is cut off after the header timeout', async () => {
    const b = await start('', { limits: { ...LIMITS, headerTimeoutMs: 300 } });
    const r = await raw(b.port, 'GET /app/page HTTP/1.1\r\nHost: a\r\nX-Slow: ', 5_000);
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.closed).toBe(true);
  });

  it('a stalled head behind a pipelined request: that request is answered first, then 408', async () => {
    const b = await start('', { limits: { ...LIMITS, headerTimeoutMs: 300 } });
    // The first request takes longer than the header timeout of the second, whose head never ends.
    const r = await raw(b.port, 'GET /app/slow?ms=900 HTTP/1.1\r\nHost: a\r\n\r\nGET /app/page HTTP/1.1\r\nHost: a\r\nX-Slow: ', 5_000);
    const replies = r.text.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(replies.map((x) => x.slice(0, 12))).toEqual(['HTTP/1.1 200', 'HTTP/1.1 408']);
    expect(bodyOf(replies[0])).toMatch(/^slow node\d\n$/);
    expect(r.closed).toBe(true);
    expect(states(b)).toEqual(ALL_OK);
  });

  it('connections beyond --max-connections are refused; those within are served; refusals are logged', async () => {
    const b = await start('', { limits: { ...LIMITS, maxConnections: 2 } });
    const a1 = await hold(b.port, '');
    const a2 = await hold(b.port, '');
    await settle(50);
    const third = await raw(b.port, 'GET /app/page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 2_000);
    expect(third.closed).toBe(true);
    expect(third.text).toBe('');
    a1.write('GET /app/page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const reply = await new Promise<string>((resolve) => {
      let t = '';
      a1.on('data', (c) => (t += c.toString()));
      a1.on('close', () => resolve(t));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    a2.destroy();
    expect(b.logs.some((l) => String(l.msg).includes('--max-connections'))).toBe(true);
  });

  it('a request waits for a full member pool at most connection_acquire_timeout, then goes elsewhere', async () => {
    const b = await start('worker.node1.connection_pool_size=1\nworker.node1.connection_acquire_timeout=100');
    const slow = get(b.url('/app/slow?ms=1500'), { cookie: 'JSESSIONID=a.node1' });
    await settle(100);
    const r = await get(b.url('/app/page'), { cookie: 'JSESSIONID=b.node1' });
    expect(r.status).toBe(200);
    expect(r.json().instance).not.toBe('node1');
    expect((await slow).status).toBe(200);
  });
});

describe('local shortages are ours, not the members’', () => {
  let child: ChildProcess | null = null;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = null;
  });

  it('out of file descriptors: our own 503, the process lives, members stay OK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jkb-emfile-'));
    const workers = `${httpFarm(portsOf(backends), 'worker.list=jkstatus\nworker.jkstatus.type=status')}`;
    writeFileSync(join(dir, 'workers.properties'), workers);
    writeFileSync(join(dir, 'uriworkermap.properties'), `${MOUNTS}/jkstatus=jkstatus\n`);
    const port = await freePort();
    const cli = startCli(['--workers', join(dir, 'workers.properties'), '--listen', `127.0.0.1:${port}`, '--no-persist']);
    child = cli.child;
    await cli.waitFor(/jkbalancer started/);
    try {
      // Leave the process three spare descriptors and take them with three idle clients: every
      // connect to a member (and every further accept) then fails with EMFILE.
      const open = readdirSync(`/proc/${child.pid}/fd`).length;
      execFileSync('prlimit', [`--pid=${child.pid}`, `--nofile=${open + 3}:`]);
      // Idle clients until the balancer cannot accept another (it closes that one at once).
      const clients: net.Socket[] = [];
      for (let i = 0; i < 10; i++) {
        const c = await hold(port, '');
        const closed = await new Promise<boolean>((r) => {
          const t = setTimeout(() => r(false), 500); // a loaded machine takes a while to accept and close
          c.once('close', () => (clearTimeout(t), r(true)));
        });
        if (closed) break;
        clients.push(c);
      }
      expect(clients.length).toBeGreaterThan(0);
      const replies = await Promise.all(
        clients.map(
          (c) =>
            new Promise<{ text: string }>((resolve) => {
              let text = '';
              c.on('data', (d: Buffer) => (text += d.toString()));
              c.on('close', () => resolve({ text }));
              c.write('GET /app/page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
            }),
        ),
      );
      // (libuv frees one reserve descriptor when an accept hits EMFILE: one request may get through.)
      const statuses = replies.map((r) => r.text.slice(0, 12));
      expect(statuses.filter((x) => x !== 'HTTP/1.1 200' && x !== 'HTTP/1.1 503')).toEqual([]);
      expect(statuses.filter((x) => x === 'HTTP/1.1 503').length).toBeGreaterThanOrEqual(clients.length - 1);
      expect(child.exitCode).toBeNull();
      execFileSync('prlimit', [`--pid=${child.pid}`, '--nofile=1024:']);
      const list = await get(`http://127.0.0.1:${port}/jkstatus?cmd=list&mime=prop`);
      const memberStates = list.text.split('\n').filter((l) => /^worker\.node\d\.state=/.test(l));
      expect(memberStates).toHaveLength(3);
      for (const line of memberStates) expect(line).toMatch(/^worker\.node\d\.state=OK(?:\/IDLE)?$/);
      expect((await get(`http://127.0.0.1:${port}/app/page`)).status).toBe(200);
      // The request log says why: our own shortage, on no member's account.
      await cli.waitFor(/"status":503,[^\n]*"failovers":"node\d:local"/, 3_000);
    } finally {
      child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      child = null;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what reaches the member', () => {
  it('an absolute-form target is accepted; its authority becomes the Host', async () => {
    const b = await start();
    const r = await raw(b.port, 'GET http://shop.example:8080/app/page?x=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
    const body = JSON.parse(bodyOf(r.text));
    expect(body.url).toBe('/app/page?x=1');
    const inst = body.instance as 'node1' | 'node2' | 'node3';
    expect(backends[inst].lastHeaders.host).toBe('shop.example:8080');
  });

  it('the URI is forwarded normalised and re-encoded (ForwardURIProxy), path parameters kept', async () => {
    const b = await start();
    const r = await raw(b.port, 'GET /app/x/../p%61ge;jsessionid=S.node2/%7e%22?q=%20 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const body = JSON.parse(bodyOf(r.text));
    expect(body.url).toBe('/app/page;jsessionid=S.node2/~%22?q=%20');
    expect(body.instance).toBe('node2'); // the session id in the path still routes
  });

  it('--forward-uri unparsed sends the target exactly as received', async () => {
    const b = await start('', { forwardUri: 'unparsed' });
    const r = await raw(b.port, 'GET /app/x/../p%61ge?q=%20 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const body = JSON.parse(bodyOf(r.text));
    expect(body.url).toBe('/app/x/../p%61ge?q=%20');
  });

  it('a WebSocket client cannot set X-Forwarded-Host/-Proto or the last Forwarded element', async () => {
    const b = await start();
    const ws = new WebSocket(`ws://127.0.0.1:${b.port}/app/ws`, {
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'for=6.6.6.6;proto=https', cookie: 'JSESSIONID=w.node3' },
    });
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => resolve());
      ws.on('error', reject);
    });
    ws.close();
    const h = backends.node3.lastHeaders;
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${b.port}`);
    expect(h.forwarded).toBe(`for=6.6.6.6;proto=https, for=127.0.0.1;proto=http;host="127.0.0.1:${b.port}"`);
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
  });
});

describe('the request log', () => {
  it('says what the client got: 200 with a truncated body, not 502', async () => {
    const b = await start();
    await get(b.url('/app/die-mid-reply')).catch(() => undefined);
    await settle(100);
    const line = b.logs.find((l) => l.path === '/app/die-mid-reply');
    expect(line?.status).toBe(200);
    expect(line?.truncated).toBe(true);
  });
});


describe('our own replies', () => {
  it('carry a stable code in X-JK-Error, on parsed requests and on raw parser refusals alike', async () => {
    const b = await start('', { limits: { ...LIMITS, headerTimeoutMs: 300 } });
    const notMounted = await get(b.url('/elsewhere'));
    expect([notMounted.status, notMounted.headers['x-jk-error']]).toEqual([404, 'JKB_NOT_MOUNTED']);
    const badPath = await raw(b.port, 'GET /app/%2e%2e/%2e%2e/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(badPath.text).toMatch(/^HTTP\/1\.1 400 [^]*x-jk-error: JKB_BAD_REQUEST/i);
    const slowHead = await raw(b.port, 'GET /app/page HTTP/1.1\r\nHost: a\r\n', 5_000);
    expect(slowHead.text).toMatch(/^HTTP\/1\.1 408 [^]*X-JK-Error: JKB_HEAD_TIMEOUT/);
    const garbage = await raw(b.port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.text).toMatch(/^HTTP\/1\.1 400 [^]*X-JK-Error: JKB_BAD_REQUEST/);
    await backends.node1.kill();
    await backends.node2.kill();
    await backends.node3.kill();
    try {
      const none = await get(b.url('/app/page'));
      expect([none.status, none.headers['x-jk-error']]).toEqual([503, 'JKB_NO_MEMBER']);
    } finally {
      for (const n of ['node1', 'node2', 'node3'] as const) await backends[n].revive();
    }
  });
});
