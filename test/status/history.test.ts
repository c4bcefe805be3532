/**
 * `cmd=history&mime=json` of the whole product on real sockets (issue 17): traffic through the
 * balancer shows in the samples (requests, latency, member errors, sessions), one lb or member is
 * chosen with w/sw, `since` returns only newer samples, activation changes are events, a reload
 * keeps the rings of the members that remain, and bad parameters get mod_jk-style error results.
 * The history interval is 100 ms so the test takes a second or two, not minutes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { get } from '../helpers/http-client.js';
import { freePort } from '../helpers/tomcat.js';
import { STATUS_MOUNTS, farmWithStatus, startProductWith, type Product } from './product.js';

const INTERVAL_MS = 100;

interface Series {
  time: number[];
  seconds: number[];
  requests_per_sec: number[];
  member_errors_per_sec: number[];
  client_errors_per_sec: number[];
  no_member_per_sec?: number[];
  p50_ms: (number | null)[];
  p95_ms: (number | null)[];
  busy: number[];
  sessions: number[];
}
interface HistoryAnswer {
  history: {
    interval_ms: number;
    slots: number;
    now: number;
    balancers: { name: string; samples: Series; members: { name: string; samples: Series; events: { time: number; field: string; old: string; new: string }[] }[] }[];
  };
  result: { type: string; message: string };
}

let backends: FakeTomcat[];
let deadPort: number;
let p: Product;

beforeAll(async () => {
  backends = [await startFakeTomcat('n1'), await startFakeTomcat('n2')];
  deadPort = await freePort();
  p = await startProductWith(
    { workers: workersFile(true), mounts: STATUS_MOUNTS },
    { historyIntervalMs: INTERVAL_MS, stateFile: null },
  );
});
afterAll(async () => {
  await p?.close();
  for (const b of backends) await b.close();
});

/** n1, n2 answer; n3 refuses connections (its attempts are member errors, the request fails over). */
function workersFile(withN3: boolean): string {
  const members: Record<string, number> = { n1: backends[0].port, n2: backends[1].port };
  if (withN3) members.n3 = deadPort;
  return farmWithStatus(members) + 'worker.lb.drain_window=60\n';
}

async function history(query = ''): Promise<HistoryAnswer> {
  const r = await p.get(`/jkstatus?cmd=history&mime=json${query}`);
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
  return JSON.parse(r.body) as HistoryAnswer;
}

/** Requests counted in a series: each rate times its interval's length. */
const counted = (s: Series, rate: (s: Series) => number[] = (x) => x.requests_per_sec) => Math.round(rate(s).reduce((a, r, i) => a + r * s.seconds[i], 0));

const app = (path: string, headers: Record<string, string> = {}) => get(`http://127.0.0.1:${p.port}${path}`, headers);

/** Polls the history until `ok` holds for it. */
async function until(ok: (h: HistoryAnswer) => boolean, query = ''): Promise<HistoryAnswer> {
  for (const end = Date.now() + 10_000; ; ) {
    const h = await history(query);
    if (ok(h)) return h;
    if (Date.now() > end) throw new Error(`history never got there: ${JSON.stringify(h.history.balancers[0]?.samples)}`);
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
  }
}

describe('cmd=history&mime=json', () => {
  it('shows the traffic: requests and latency per member, member errors, sticky sessions, the lb totals', async () => {
    const first = await history();
    expect(first.result).toEqual({ type: 'OK', message: 'Action finished' });
    expect([first.history.interval_ms, first.history.slots]).toEqual([INTERVAL_MS, 720]);
    expect(first.history.balancers.map((b) => [b.name, b.members.map((m) => m.name)])).toEqual([['lb', ['n1', 'n2', 'n3']]]);

    // 12 sticky requests to n1 (6 sessions), each slow enough to land in the (250, 500] ms bucket.
    await Promise.all(Array.from({ length: 12 }, (_, i) => app(`/app/slow?ms=300`, { cookie: `JSESSIONID=S${i % 6}.n1` })));
    // 6 new-session requests: round-robin reaches n3, whose refused connections fail over.
    for (let i = 0; i < 6; i++) expect((await app('/app/x')).status).toBe(200);

    const h = await until((x) => {
      const [m1, , m3] = x.history.balancers[0].members;
      return counted(m1.samples) >= 12 && counted(m3.samples, (s) => s.member_errors_per_sec) >= 1 && counted(x.history.balancers[0].samples) >= 18;
    });
    const lb = h.history.balancers[0];
    const [m1, m2, m3] = lb.members;
    expect(counted(m1.samples) + counted(m2.samples)).toBe(18);
    expect(counted(m3.samples)).toBe(0);
    expect(counted(lb.samples)).toBe(18);
    expect(counted(lb.samples, (s) => s.member_errors_per_sec)).toBe(counted(m3.samples, (s) => s.member_errors_per_sec));
    expect(counted(m1.samples, (s) => s.client_errors_per_sec)).toBe(0);
    // The slow requests' latency: an interval with only them has p50 and p95 within their bucket.
    const slow = m1.samples.p50_ms.filter((v): v is number => v !== null && v > 250);
    expect(slow.length).toBeGreaterThan(0);
    for (const v of slow) expect(v).toBeLessThanOrEqual(500);
    // The six sessions are in n1's drain window (new sessions are not sticky yet); the lb sums its members'.
    expect(m1.samples.sessions.at(-1)).toBe(6);
    expect(lb.samples.sessions.at(-1)).toBe(6);
    // Samples are one interval apart (give or take the timer), oldest first, up to the answer's time.
    const t = lb.samples.time;
    expect(t.every((x, i) => i === 0 || x > t[i - 1])).toBe(true);
    expect(t.at(-1)).toBeLessThanOrEqual(h.history.now);
    expect(lb.samples.seconds.at(-1)).toBeGreaterThanOrEqual(INTERVAL_MS / 1000 / 2);
  });

  it('w and sw choose one lb or one member; since gives only newer samples', async () => {
    const one = await history('&w=lb&sw=n2');
    expect(one.history.balancers.map((b) => [b.name, b.members.map((m) => m.name)])).toEqual([['lb', ['n2']]]);
    const all = await history('&w=lb');
    const last = all.history.balancers[0].samples.time.at(-1)!;
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
    const newer = await history(`&since=${last}`);
    const times = newer.history.balancers[0].samples.time;
    expect(times.length).toBeGreaterThan(0);
    expect(times.every((x) => x > last)).toBe(true);
    expect(newer.history.balancers[0].members[0].samples.time).toEqual(times);
  });

  it('an activation change is an event at its time', async () => {
    const before = Date.now();
    const r = await p.get('/jkstatus?cmd=update&mime=json&w=lb&sw=n2&vwa=d');
    expect(JSON.parse(r.body).result.type).toBe('OK');
    const h = await until((x) => x.history.balancers[0].members[0].events.length > 0, '&w=lb&sw=n2');
    const [e] = h.history.balancers[0].members[0].events;
    expect(e).toMatchObject({ field: 'activation', old: 'ACT', new: 'DIS' });
    expect(e.time).toBeGreaterThanOrEqual(before);
    await p.get('/jkstatus?cmd=update&mime=json&w=lb&sw=n2&vwa=a');
  });

  it('a reload keeps the samples of the members that remain and drops the removed one', async () => {
    const before = await history('&w=lb&sw=n1');
    const oldest = before.history.balancers[0].members[0].samples.time[0];
    writeFileSync(join(p.dir, 'workers.properties'), workersFile(false));
    expect(p.reload()).toBe(true);
    const after = await until((x) => x.history.balancers[0].samples.time.at(-1)! > before.history.now);
    const lb = after.history.balancers[0];
    expect(lb.members.map((m) => m.name)).toEqual(['n1', 'n2']);
    expect(lb.members[0].samples.time[0]).toBe(oldest);
    // n1's earlier traffic is still there after the reload (and nothing new came).
    expect(counted(lb.members[0].samples)).toBe(counted(before.history.balancers[0].members[0].samples));
    expect(counted(lb.members[0].samples)).toBeGreaterThanOrEqual(12);
  });

  it.each([
    ['&mime=txt', 'cmd=history is answered in mime=json only'],
    ['&since=yesterday', 'since must be a time in ms since the epoch (digits only)'],
    ['&w=nope', 'Could not find given worker'],
    ['&w=lb&sw=nope', 'could not find sub worker'],
    ['&sw=n1', 'NULL or EMPTY worker param'],
    ['&w=lb&sw=n*', 'wildcard not allowed in sub worker for this command'],
  ])('%s is refused: %s', async (query, message) => {
    const r = await p.get(`/jkstatus?cmd=history${query.startsWith('&mime') ? query : `&mime=json${query}`}`);
    expect(r.status).toBe(200);
    if (query === '&mime=txt') {
      expect(r.body).toContain(`type=ERROR message="${message}"`);
      return;
    }
    const body = JSON.parse(r.body) as { result: { type: string; message: string }; history?: unknown };
    expect(body.result).toEqual({ type: 'ERROR', message });
    expect(body.history).toBeUndefined();
  });
});
