/**
 * Prometheus metrics of a real BalancerApp: known traffic through real fake-Tomcat backends, then
 * a scrape over real HTTP, parsed and checked value by value; naming rules checked on every family.
 */
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/metrics/index.js';
import { DrainRegistry } from '../../src/routing/drain.js';
import { Act } from '../../src/routing/types.js';
import { startBalancer, type TestBalancer } from '../helpers/balancer.js';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { get } from '../helpers/http-client.js';

/** A fixed clock: no maintenance runs, so the member states the traffic leaves stay put. */
const T = 1_700_000_000_000;
const clock = { now: () => T };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** The value of the one sample with exactly these labels (undefined if absent). */
function value(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels);
  const found = e.samples.filter(
    (s) => s.name === name && Object.keys(s.labels).length === want.length && want.every(([k, v]) => s.labels[k] === v),
  );
  expect(found.length, `${name}${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

let n1: FakeTomcat;
let n2: FakeTomcat;
let deadPort: number;
let lb: TestBalancer;
let metrics: Metrics;
let scrapeServer: http.Server;
let scrapeUrl: string;

function workers(withN3: boolean): string {
  const members = withN3 ? 'n1,n2,n3' : 'n1,n2';
  return [
    'worker.list=lb,solo',
    'worker.lb.type=lb',
    `worker.lb.balance_workers=${members}`,
    `worker.n1.type=http\nworker.n1.host=127.0.0.1\nworker.n1.port=${n1.port}`,
    `worker.n2.type=http\nworker.n2.host=127.0.0.1\nworker.n2.port=${n2.port}`,
    `worker.n3.type=http\nworker.n3.host=127.0.0.1\nworker.n3.port=${deadPort}`,
    'worker.solo.type=lb',
    'worker.solo.balance_workers=d1',
    `worker.d1.type=http\nworker.d1.host=127.0.0.1\nworker.d1.port=${deadPort}`,
    '',
  ].join('\n');
}

async function scrape(): Promise<Exposition> {
  const r = await get(scrapeUrl);
  expect(r.status).toBe(200);
  expect(String(r.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(r.text);
}

beforeAll(async () => {
  n1 = await startFakeTomcat('n1');
  n2 = await startFakeTomcat('n2');
  // A port nothing listens on: bind one, then let it go.
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const drains = new DrainRegistry();
  let app: TestBalancer['app'] | null = null;
  metrics = createMetrics({ getBalancers: () => app!.farm.balancers, drains, clock });
  lb = await startBalancer(workers(true), '/app/*=lb\n/solo/*=solo\n', { observer: metrics.observer, drains, clock });
  app = lb.app;
  scrapeServer = http.createServer((req, res) => metrics.handle(req, res));
  await new Promise<void>((r) => scrapeServer.listen(0, '127.0.0.1', () => r()));
  scrapeUrl = `http://127.0.0.1:${(scrapeServer.address() as AddressInfo).port}/metrics`;

  // Known traffic. n1: 5 × 200 for sessions S1..S5, 2 × 404 for S1 (7 requests, all sticky).
  for (let i = 1; i <= 5; i++) expect((await get(lb.url('/app/a'), { cookie: `JSESSIONID=S${i}.n1` })).status).toBe(200);
  for (let i = 0; i < 2; i++) expect((await get(lb.url('/app/status/404'), { cookie: 'JSESSIONID=S1.n1' })).status).toBe(404);
  // n2: one upload of 1000 bytes for session U1.
  const up = await get(lb.url('/app/upload'), { cookie: 'JSESSIONID=U1.n2', 'content-type': 'application/octet-stream' }, 'POST', Buffer.alloc(1000, 1));
  expect(up.json<{ instance: string; bytes: number }>()).toMatchObject({ instance: 'n2', bytes: 1000 });
  // Sticky to the dead n3: connect error, failover to the least loaded member, n2.
  const failedOver = await get(lb.url('/app/a'), { cookie: 'JSESSIONID=D1.n3' });
  expect(failedOver.status).toBe(200);
  expect(failedOver.json<{ instance: string }>().instance).toBe('n2');
  // An lb whose only member is dead: our own 503.
  expect((await get(lb.url('/solo/a'))).status).toBe(503);
});

afterAll(async () => {
  await new Promise<void>((r) => scrapeServer?.close(() => r()));
  await lb?.close();
  await n1?.close();
  await n2?.close();
});

describe('metrics of a running balancer', () => {
  it('counts requests, errors, failovers and our own 503s exactly', async () => {
    const e = await scrape();
    const reqs = (member: string, code_class: string) => value(e, 'jkbalancer_member_requests_total', { lb: 'lb', member, code_class });
    expect(reqs('n1', '2xx')).toBe(5);
    expect(reqs('n1', '4xx')).toBe(2);
    expect(reqs('n1', '5xx')).toBeUndefined();
    expect(reqs('n2', '2xx')).toBe(2);
    expect(reqs('n3', '2xx')).toBeUndefined();

    expect(value(e, 'jkbalancer_member_request_duration_seconds_count', { lb: 'lb', member: 'n1' })).toBe(7);
    expect(value(e, 'jkbalancer_member_request_duration_seconds_bucket', { lb: 'lb', member: 'n1', le: '+Inf' })).toBe(7);
    expect(value(e, 'jkbalancer_member_request_duration_seconds_count', { lb: 'lb', member: 'n2' })).toBe(2);
    // Buckets are cumulative over increasing bounds and end at the count; the sum is of real durations.
    const bounds = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '+Inf'];
    const buckets = bounds.map((le) => value(e, 'jkbalancer_member_request_duration_seconds_bucket', { lb: 'lb', member: 'n1', le }) ?? -1);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]);
    expect(buckets[0]).toBeGreaterThanOrEqual(0);
    expect(buckets[12]).toBe(7);
    const sum = value(e, 'jkbalancer_member_request_duration_seconds_sum', { lb: 'lb', member: 'n1' }) ?? 0;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(7 * 60);

    expect(value(e, 'jkbalancer_member_errors_total', { lb: 'lb', member: 'n3', kind: 'connect' })).toBe(1);
    expect(value(e, 'jkbalancer_failovers_total', { lb: 'lb', reason: 'connect' })).toBe(1);
    expect(value(e, 'jkbalancer_lb_requests_total', { lb: 'lb', code_class: '2xx' })).toBe(7);
    expect(value(e, 'jkbalancer_lb_requests_total', { lb: 'lb', code_class: '4xx' })).toBe(2);
    expect(value(e, 'jkbalancer_lb_no_member_total', { lb: 'lb' })).toBe(0);

    // solo: two lb rounds (retries=2), each one connect failure on d1 (forced back into use in round 2).
    const d1 = lb.app.farm.balancers.get('solo')!.memberByName('d1')!;
    expect(d1.errors).toBe(2);
    expect(value(e, 'jkbalancer_member_errors_total', { lb: 'solo', member: 'd1', kind: 'connect' })).toBe(2);
    // One failover: the second attempt moved on from the first's failure; the last failure had nowhere to go.
    expect(value(e, 'jkbalancer_failovers_total', { lb: 'solo', reason: 'connect' })).toBe(1);
    expect(value(e, 'jkbalancer_lb_no_member_total', { lb: 'solo' })).toBe(1);
    expect(value(e, 'jkbalancer_lb_requests_total', { lb: 'solo', code_class: '5xx' })).toBe(1);
    expect(value(e, 'jkbalancer_member_requests_total', { lb: 'solo', member: 'd1', code_class: '5xx' })).toBeUndefined();

    for (const m of ['n1', 'n2', 'n3']) expect(value(e, 'jkbalancer_member_in_flight', { lb: 'lb', member: m })).toBe(0);
  });

  it('counts the bytes the routing core counts', async () => {
    const e = await scrape();
    const b = lb.app.farm.balancers.get('lb')!;
    expect(b.memberByName('n2')!.transferred).toBeGreaterThanOrEqual(1000);
    for (const name of ['n1', 'n2']) {
      const m = b.memberByName(name)!;
      expect(m.read).toBeGreaterThan(0);
      expect(value(e, 'jkbalancer_member_sent_bytes_total', { lb: 'lb', member: name })).toBe(m.transferred);
      expect(value(e, 'jkbalancer_member_received_bytes_total', { lb: 'lb', member: name })).toBe(m.read);
    }
  });

  it('publishes activation and state as state sets read live', async () => {
    let e = await scrape();
    const act = (member: string, a: string) => value(e, 'jkbalancer_member_activation', { lb: 'lb', member, activation: a });
    const state = (member: string, s: string) => value(e, 'jkbalancer_member_state', { lb: 'lb', member, state: s });
    expect([act('n2', 'ACT'), act('n2', 'DIS'), act('n2', 'STP')]).toEqual([1, 0, 0]);
    expect(state('n3', 'ERR')).toBe(1);
    expect(state('n3', 'OK')).toBe(0);
    expect(state('n1', 'OK')).toBe(1);
    const states = e.samples.filter((s) => s.name === 'jkbalancer_member_state' && s.labels.member === 'n1');
    expect(states.map((s) => s.labels.state).sort()).toEqual(['ERR', 'ERR/FRC', 'ERR/PRB', 'ERR/REC', 'OK', 'OK/BUSY', 'OK/IDLE']);
    expect(states.reduce((sum, s) => sum + s.value, 0)).toBe(1);

    lb.app.farm.balancers.get('lb')!.setActivation(1, Act.DISABLED);
    e = await scrape();
    expect([act('n2', 'ACT'), act('n2', 'DIS'), act('n2', 'STP')]).toEqual([0, 1, 0]);
    lb.app.farm.balancers.get('lb')!.setActivation(1, Act.ACTIVE);
  });

  it('shows drain progress: distinct sticky sessions and the last sticky request', async () => {
    const e = await scrape();
    expect(value(e, 'jkbalancer_member_sticky_sessions', { lb: 'lb', member: 'n1' })).toBe(5);
    expect(value(e, 'jkbalancer_member_sticky_sessions', { lb: 'lb', member: 'n3' })).toBe(1);
    expect(value(e, 'jkbalancer_member_sticky_sessions', { lb: 'lb', member: 'n2' })).toBe(1);
    expect(value(e, 'jkbalancer_member_last_sticky_request_timestamp_seconds', { lb: 'lb', member: 'n1' })).toBe(T / 1000);
    // d1's requests carried no session id: no sessions, though the routing core counts the only
    // member of an lb as reached stickily.
    expect(value(e, 'jkbalancer_member_sticky_sessions', { lb: 'solo', member: 'd1' })).toBe(0);
  });

  it('follows the naming rules', async () => {
    const e = await scrape();
    expect(e.types.size).toBeGreaterThan(15);
    for (const [name, type] of e.types) {
      expect(name, name).toMatch(/^jkbalancer_[a-z0-9_]+$/);
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      // Our own families (not prom-client's process defaults) keep `_total` for counters only.
      else if (!/^jkbalancer_(process|nodejs)_/.test(name)) expect(name, name).not.toMatch(/_total$/);
    }
    // Every sample belongs to a declared family (histograms add _bucket/_sum/_count).
    for (const s of e.samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      expect(e.types.has(s.name) || e.types.get(family) === 'histogram', s.name).toBe(true);
    }
    expect(e.types.get('jkbalancer_member_request_duration_seconds')).toBe('histogram');
    expect(e.types.get('jkbalancer_process_cpu_seconds_total')).toBe('counter');
  });

  it('answers only GET and HEAD', async () => {
    const r = await get(scrapeUrl, {}, 'POST', '');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('counts reloads and drops the series of a member a reload removed', async () => {
    writeFileSync(lb.workersFile, workers(false));
    const ok = lb.app.reload();
    expect(ok.ok).toBe(true);
    metrics.recordReload(ok.ok);
    writeFileSync(lb.workersFile, 'worker.list=lb\nworker.lb.type=lb\n');
    const bad = lb.app.reload();
    expect(bad.ok).toBe(false);
    metrics.recordReload(bad.ok);

    const e = await scrape();
    expect(value(e, 'jkbalancer_config_reloads_total', { result: 'success' })).toBe(1);
    expect(value(e, 'jkbalancer_config_reloads_total', { result: 'failure' })).toBe(1);
    expect(e.samples.filter((s) => s.labels.member === 'n3')).toEqual([]);
    // The remaining members keep their counts across the reload.
    expect(value(e, 'jkbalancer_member_requests_total', { lb: 'lb', member: 'n1', code_class: '2xx' })).toBe(5);
    expect(value(e, 'jkbalancer_member_sticky_sessions', { lb: 'lb', member: 'n1' })).toBe(5);
  });
});
