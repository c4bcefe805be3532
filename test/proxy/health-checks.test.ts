/**
 * Active health checks on real sockets (README "Health checks"): a backend whose health endpoint
 * starts failing goes to ERR before any client request fails on it, comes back after the configured
 * passes, and the checks show in the status JSON, the classic page and /metrics without counting as
 * traffic. A TCP check follows a backend that dies and comes back; a reload rebuilds the checks.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HEALTH_CHECK_DEFAULTS } from '../../src/config/health-check.js';
import type { HealthCheckConfig } from '../../src/config/model.js';
import { probe } from '../../src/proxy/health-check.js';
import { startProduct, type TestBalancer } from '../helpers/balancer.js';
import { get } from '../helpers/http-client.js';
import { until } from '../helpers/until.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


interface Seen {
  readonly method: string;
  readonly url: string;
  readonly agent: string;
  readonly host: string;
  status: number;
}

/**
 * A backend with a health endpoint that can be made to fail, and an application that fails with it
 * (as a broken app server does): what it was asked and answered is recorded.
 */
interface Backend {
  readonly route: string;
  readonly port: number;
  healthy: boolean;
  readonly seen: Seen[];
  checks(): Seen[];
  clientRequests(): Seen[];
  close(): Promise<void>;
}

async function startBackend(route: string): Promise<Backend> {
  const sockets = new Set<Socket>();
  const seen: Seen[] = [];
  const b = {
    route,
    port: 0,
    healthy: true,
    seen,
    checks: () => seen.filter((s) => s.url === '/health'),
    clientRequests: () => seen.filter((s) => s.url !== '/health'),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const s: Seen = { method: req.method ?? '', url: req.url ?? '', agent: req.headers['user-agent'] ?? '', host: req.headers.host ?? '', status: 0 };
    seen.push(s);
    s.status = b.healthy ? 200 : 503;
    if (s.url === '/health') {
      res.writeHead(s.status, { 'content-type': 'text/plain' });
      res.end(b.healthy ? 'status: UP\n' : 'status: DOWN\n');
      return;
    }
    s.status = b.healthy ? 200 : 500;
    res.writeHead(s.status, { 'content-type': 'text/plain', 'set-cookie': `JSESSIONID=s1.${route}; Path=/` });
    res.end(route);
  });
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  b.port = (server.address() as AddressInfo).port;
  return b;
}

interface HealthJson {
  method: string;
  uri: string | null;
  up: boolean;
  last_result: 'ok' | 'fail' | null;
  last_check_unix_seconds: number | null;
  last_check_ago: number | null;
  latency_ms: number | null;
  reason: string;
  consecutive_passes: number;
  consecutive_fails: number;
  passes_total: number;
  fails_total: number;
}
interface MemberJson {
  name: string;
  state: string;
  elected: number;
  errors: number;
  health: HealthJson | null;
}

let lb: TestBalancer | null = null;
const backends: Backend[] = [];
afterEach(async () => {
  await lb?.close();
  lb = null;
  for (const b of backends.splice(0)) await b.close();
});

async function members(): Promise<Record<string, MemberJson>> {
  const r = await get(lb!.url('/jkstatus?cmd=list&mime=json'));
  const list = r.json<{ balancers: { members: MemberJson[] }[] }>().balancers[0].members;
  return Object.fromEntries(list.map((m) => [m.name, m]));
}

async function metrics(): Promise<string> {
  return (await get(lb!.url('/jkstatus/metrics'))).text;
}

function metric(text: string, line: RegExp): number | null {
  const m = new RegExp(`^${line.source} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

const MOUNTS = '/app/*=lb\n/jkstatus=jkstatus\n/jkstatus/*=jkstatus\n';

const CHECKS = [
  'worker.tpl.health_check_method=GET',
  'worker.tpl.health_check_uri=/health',
  'worker.tpl.health_check_host=health.internal',
  'worker.tpl.health_check_expect=200-299',
  'worker.tpl.health_check_body=UP',
  'worker.tpl.health_check_interval=150',
  'worker.tpl.health_check_fail_interval=100',
  'worker.tpl.health_check_timeout=1000',
  'worker.tpl.health_check_fails=2',
  'worker.tpl.health_check_passes=3',
];

function workers(n1: Backend, n2: Backend, extra: string[] = CHECKS): string {
  return [
    'worker.list=lb,jkstatus',
    'worker.lb.type=lb',
    'worker.lb.balance_workers=n1,n2',
    // Long enough that only the checks can bring n1 back within the test.
    'worker.lb.recover_time=600',
    ...extra,
    ...(extra.length > 0 ? ['worker.n1.reference=worker.tpl'] : []),
    'worker.n1.type=http',
    'worker.n1.host=127.0.0.1',
    `worker.n1.port=${n1.port}`,
    'worker.n1.fail_on_status=500',
    'worker.n2.type=http',
    'worker.n2.host=127.0.0.1',
    `worker.n2.port=${n2.port}`,
    'worker.jkstatus.type=status',
    '',
  ].join('\n');
}

describe('HTTP health checks', () => {
  it('a failing health endpoint puts the member in ERR before any client request fails on it; passes bring it back', async () => {
    const n1 = await startBackend('n1');
    const n2 = await startBackend('n2');
    backends.push(n1, n2);
    lb = await startProduct(workers(n1, n2), MOUNTS);

    await until(async () => (await members()).n1.health?.last_result === 'ok', 'a first passed check');
    // The checks are the configured request, on their own connections.
    const check = n1.checks()[0];
    expect(check).toMatchObject({ method: 'GET', url: '/health', agent: 'jkbalancer-health-check', host: 'health.internal' });
    expect(n2.checks()).toEqual([]);

    // Client traffic: both members serve.
    for (let k = 0; k < 6; k++) expect((await get(lb.url('/app/x'))).status).toBe(200);
    const servedByN1 = n1.clientRequests().length;
    expect(servedByN1).toBeGreaterThan(0);

    // Checks are not traffic: n1's request counter and request metrics are the client requests alone,
    // and no request log line is about a check.
    await until(async () => (await members()).n1.health!.passes_total >= 4, 'more passed checks');
    let m = await members();
    const passed = m.n1.health!.passes_total;
    expect(m.n1.elected).toBe(servedByN1);
    let text = await metrics();
    expect(metric(text, /jkbalancer_member_requests_total\{lb="lb",member="n1",code_class="2xx"\}/)).toBe(servedByN1);
    expect(lb.logs.filter((l) => typeof l.path === 'string' && String(l.path).includes('health'))).toEqual([]);

    // The backend breaks: its health endpoint and its application fail alike. No client request is sent.
    n1.healthy = false;
    await until(async () => (await members()).n1.state === 'ERR', 'n1 in ERR');
    m = await members();
    expect(m.n1.errors).toBe(0);
    expect(m.n1.health).toMatchObject({ up: false, last_result: 'fail', reason: 'status 503 (expected 200-299)', consecutive_passes: 0 });
    expect(m.n1.health!.consecutive_fails).toBeGreaterThanOrEqual(2);
    expect(n1.clientRequests().filter((s) => s.status !== 200)).toEqual([]);
    expect(lb.logs.some((l) => l.msg === "health check: member 'n1' of 'lb' in error (status 503 (expected 200-299))")).toBe(true);

    // Every client request, even one whose session belongs to n1, is served by n2 now; n1 sees none.
    const before = n1.clientRequests().length;
    for (let k = 0; k < 6; k++) {
      const r = await get(lb.url('/app/y'), { cookie: 'JSESSIONID=s1.n1' });
      expect([r.status, r.text]).toEqual([200, 'n2']);
    }
    expect(n1.clientRequests().length).toBe(before);

    text = await metrics();
    expect(metric(text, /jkbalancer_health_check_up\{lb="lb",member="n1"\}/)).toBe(0);
    expect(metric(text, /jkbalancer_health_check_total\{lb="lb",member="n1",result="fail"\}/)).toBeGreaterThanOrEqual(2);
    expect(metric(text, /jkbalancer_health_check_total\{lb="lb",member="n1",result="pass"\}/)).toBeGreaterThanOrEqual(passed);
    expect(metric(text, /jkbalancer_health_check_latency_seconds\{lb="lb",member="n1"\}/)).toBeGreaterThan(0);
    expect(metric(text, /jkbalancer_member_state\{lb="lb",member="n1",state="ERR"\}/)).toBe(1);
    expect(text).not.toMatch(/jkbalancer_health_check_\w+\{lb="lb",member="n2"/);

    // The classic page shows it too.
    const page = (await get(lb.url('/jkstatus?cmd=list&ui=classic'))).text;
    expect(page).toContain('<th>Health Check</th>');
    expect(page).toMatch(/<td>n1<\/td><td>GET \/health<\/td><td>Down<\/td><td>Failed<\/td>/);
    expect(page).toContain('status 503 (expected 200-299)');

    // Healthy again: after 3 passes (recover_time is 10 minutes) n1 is OK and takes its sessions back.
    n1.healthy = true;
    const failsAt = n1.checks().length;
    await until(async () => (await members()).n1.state === 'OK', 'n1 back to OK');
    const passesSeen = n1.checks().length - failsAt;
    expect(passesSeen).toBeGreaterThanOrEqual(3);
    m = await members();
    expect(m.n1.health).toMatchObject({ up: true, last_result: 'ok', reason: '' });
    expect(m.n1.health!.consecutive_passes).toBeGreaterThanOrEqual(3);
    const r = await get(lb.url('/app/z'), { cookie: 'JSESSIONID=s1.n1' });
    expect([r.status, r.text]).toEqual([200, 'n1']);
    expect(lb.logs.some((l) => l.msg === "health check: member 'n1' of 'lb' recovered")).toBe(true);
    expect(metric(await metrics(), /jkbalancer_health_check_up\{lb="lb",member="n1"\}/)).toBe(1);
  });

  it('a body check fails when the text is missing; a reload without checks stops them', async () => {
    const n1 = await startBackend('n1');
    const n2 = await startBackend('n2');
    backends.push(n1, n2);
    const wanting = CHECKS.map((l) => l.replace('health_check_body=UP', 'health_check_body=READY'));
    lb = await startProduct(workers(n1, n2, wanting), MOUNTS);
    await until(async () => (await members()).n1.state === 'ERR', 'n1 in ERR by its body check');
    expect((await members()).n1.health?.reason).toBe('body lacks "READY"');

    writeFileSync(lb.workersFile, workers(n1, n2, []));
    expect(lb.app.reload().ok).toBe(true);
    const after = n1.checks().length;
    expect((await members()).n1.health).toBeNull();
    await sleep(400);
    expect(n1.checks().length).toBe(after);
  });
});

describe('TCP health checks', () => {
  it('follow a backend that stops listening and comes back', async () => {
    const n1 = await startBackend('n1');
    const n2 = await startBackend('n2');
    backends.push(n2);
    const tcp = ['worker.tpl.health_check_method=TCP', 'worker.tpl.health_check_interval=100', 'worker.tpl.health_check_fails=1', 'worker.tpl.health_check_passes=1'];
    lb = await startProduct(workers(n1, n2, tcp), MOUNTS);
    await until(async () => (await members()).n1.health?.last_result === 'ok', 'a first passed connect');
    // A connect alone: the backend never sees a request.
    expect(n1.seen).toEqual([]);
    const port = n1.port;
    await n1.close();
    await until(async () => (await members()).n1.state === 'ERR', 'n1 in ERR');
    expect((await members()).n1.health).toMatchObject({ method: 'TCP', uri: null, reason: 'connect: ECONNREFUSED' });

    const revived = http.createServer((_req, res) => res.end('n1'));
    await new Promise<void>((r) => revived.listen(port, '127.0.0.1', () => r()));
    try {
      await until(async () => (await members()).n1.state === 'OK', 'n1 back to OK');
    } finally {
      await new Promise<void>((r) => revived.close(() => r()));
    }
  });
});

describe('one check', () => {
  const cfg = (o: Partial<HealthCheckConfig>): HealthCheckConfig => ({
    ...HEALTH_CHECK_DEFAULTS, method: 'GET', host: '', body: '', failIntervalMs: 1000, intervalMs: 1000, ...o,
  });
  let server: http.Server | null = null;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
  });
  async function serve(handler: http.RequestListener): Promise<number> {
    server = http.createServer(handler);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return (server.address() as AddressInfo).port;
  }
  const at = (port: number) => ({ host: '127.0.0.1', port, tls: false, source: '' });

  it('fails a backend that does not answer within the timeout', async () => {
    const port = await serve(() => {});
    const r = await probe(at(port), cfg({ timeoutMs: 150 })).result;
    expect(r).toMatchObject({ ok: false, reason: 'no answer within 150 ms' });
    expect(r.latencyMs).toBeGreaterThanOrEqual(140);
  });

  it('HEAD and OPTIONS are sent as configured; the status decides', async () => {
    const seen: string[] = [];
    const port = await serve((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers.connection}`);
      res.writeHead(req.method === 'HEAD' ? 204 : 401).end();
    });
    expect((await probe(at(port), cfg({ method: 'HEAD', uri: '/up' })).result).ok).toBe(true);
    expect(await probe(at(port), cfg({ method: 'OPTIONS', uri: '*', expect: [[200, 299]] })).result).toMatchObject({ ok: false, reason: 'status 401 (expected 200-299)' });
    expect((await probe(at(port), cfg({ method: 'OPTIONS', uri: '*', expect: [[200, 299], [401, 401]] })).result).ok).toBe(true);
    expect(seen).toEqual([`HEAD /up 127.0.0.1:${port} close`, `OPTIONS * 127.0.0.1:${port} close`, `OPTIONS * 127.0.0.1:${port} close`]);
  });

  it('looks for the body text in the first 64 KiB only', async () => {
    const port = await serve((_req, res) => {
      res.write('x'.repeat(70 * 1024));
      res.end('READY');
    });
    expect(await probe(at(port), cfg({ body: 'READY' })).result).toMatchObject({ ok: false, reason: 'body lacks "READY" in its first 64 KiB' });
  });

  it('an HTTP check of a closed port says so', async () => {
    const port = await serve(() => {});
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    expect(await probe(at(port), cfg({})).result).toMatchObject({ ok: false, reason: 'connect: ECONNREFUSED' });
  });
});

describe('the checker', () => {
  it('stops with the balancer', async () => {
    const n1 = await startBackend('n1');
    const n2 = await startBackend('n2');
    backends.push(n1, n2);
    lb = await startProduct(workers(n1, n2), MOUNTS);
    await until(() => n1.checks().length >= 2, 'checks');
    await lb.close();
    lb = null;
    const after = n1.checks().length;
    await sleep(400);
    expect(n1.checks().length).toBe(after);
  });
});
