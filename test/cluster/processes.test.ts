/**
 * `jkbalancer start --processes N` as real processes on real sockets: the primary owns the admin
 * state, every worker process applies each change before the status answer, member errors are
 * shared, counters are summed, and the primary replaces a dead worker with the current state.
 * Every request opens its own connection, so node:cluster spreads them over the workers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { httpFarm } from '../helpers/balancer.js';
import { startCli, type CliProcess } from '../helpers/cli-process.js';
import { rawGet } from '../helpers/http-client.js';
import { until } from '../helpers/until.js';
import { freePort } from '../helpers/tomcat.js';

interface ProcessView {
  pid: number;
  balancers: { lb: { members: Record<string, { elected: number; state: string }> } };
}

// Each test starts 2–4 Node processes: a shared, loaded machine has taken 15 s for that alone.
vi.setConfig({ testTimeout: 90_000 });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jkb-cluster-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MOUNTS = '/app/*=lb\n/jkstatus=jkstatus\n/jkstatus/*=jkstatus\n';

async function startCluster(processes: number, backends: readonly { route: string; port: number }[], extra = '', args: string[] = []) {
  const port = await freePort();
  const members = Object.fromEntries(backends.map((b) => [b.route, b.port]));
  const workers = join(dir, `w${processes}.properties`);
  writeFileSync(workers, httpFarm(members, `worker.list=jkstatus\nworker.jkstatus.type=status\n${extra}`));
  writeFileSync(join(dir, `m${processes}.properties`), MOUNTS);
  const cli = startCli(['--workers', workers, '--mounts', join(dir, `m${processes}.properties`), '--listen', `127.0.0.1:${port}`, '--no-persist', '--processes', String(processes), ...args]);
  // Node 22.12+ lets each worker accept its own connections on the fixed port (SO_REUSEPORT); older
  // Node hands them out from the primary. Either way every worker must get traffic (checked below).
  // Worked out here, not read from the product: a wrong claim of the mode must fail the test.
  const [major, minor] = process.versions.node.split('.').map(Number);
  const reusePort = major > 22 || (major === 22 && minor >= 12);
  await cli.waitFor(reusePort ? /"accept":"reuseport".*jkbalancer started/ : /"accept":"primary round-robin".*jkbalancer started/, 45_000);
  const req = (path: string, headers: Record<string, string> = {}) => rawGet('127.0.0.1', port, path, { host: `127.0.0.1:${port}`, ...headers });
  const processesView = async (): Promise<ProcessView[]> => {
    // The primary keeps what it last collected: a status read collects afresh.
    await req('/jkstatus?mime=json');
    return (JSON.parse((await req('/jkstatus/processes')).body) as { processes: ProcessView[] }).processes;
  };
  return { cli, port, req, processesView };
}

/** Four loops of new-session requests until stopped: how many were answered, which failed. */
function startLoad(req: (path: string) => Promise<{ status: number }>) {
  let running = true;
  const statuses: number[] = [];
  const errors: string[] = [];
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        statuses.push((await req('/app/x')).status);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  });
  return {
    /** Resolves once n more requests were answered than when called (bounded: 20 s). */
    answers(n: number) {
      const target = statuses.length + n;
      return until(() => statuses.length >= target, `${target} answers`, 20_000);
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return { answered: statuses.length, failed: statuses.filter((s) => s !== 200), errors };
    },
  };
}

async function stopCluster(cli: CliProcess): Promise<number | null> {
  cli.child.kill('SIGTERM');
  return cli.exited;
}

describe.each([2, 3])('with %i worker processes', (n) => {
  let backends: FakeTomcat[];
  beforeAll(async () => {
    backends = [await startFakeTomcat('node1'), await startFakeTomcat('node2'), await startFakeTomcat('node3')];
  });
  afterAll(async () => {
    for (const b of backends) await b.close();
  });

  it('a drain answered OK holds in every worker; sticky sessions still reach the member; counters are sums', async () => {
    const c = await startCluster(n, backends);
    try {
      const answer = await c.req('/jkstatus?cmd=update&w=lb&sw=node1&vwa=1&mime=txt');
      expect(answer.body).toContain('type=OK');
      const newSessions = await Promise.all(Array.from({ length: 30 }, () => c.req('/app/x')));
      expect(newSessions.map((r) => r.headers['x-instance'] ?? JSON.parse(r.body).instance).filter((i) => i === 'node1')).toEqual([]);
      // Rounds of 30 sticky requests of 30 sessions until every worker served some (the primary of
      // Node 20 hands each connection to a free worker: on a loaded machine one can take a round).
      let stickySent = 0;
      let view: ProcessView[] = [];
      for (let round = 0; round < 5 && !(view.length === n && view.every((p) => p.balancers.lb.members.node1.elected > 0)); round++) {
        const sticky = await Promise.all(Array.from({ length: 30 }, (_, i) => c.req('/app/x', { cookie: `JSESSIONID=s${i}.node1` })));
        expect(sticky.every((r) => r.status === 200)).toBe(true);
        stickySent += 30;
        view = await c.processesView();
      }
      expect(view).toHaveLength(n);
      // Every worker routed sticky requests to the drained member, and none a new session.
      for (const p of view) expect(p.balancers.lb.members.node1.elected).toBeGreaterThan(0);
      const sum = (member: string) => view.reduce((a, p) => a + p.balancers.lb.members[member].elected, 0);
      expect(sum('node1')).toBe(stickySent);
      const status = JSON.parse((await c.req('/jkstatus?mime=json')).body);
      const shown = status.balancers[0].members.map((m: { name: string; elected: number; activation: string }) => [m.name, m.elected, m.activation]);
      expect(shown).toEqual([
        ['node1', stickySent, 'DIS'],
        ['node2', sum('node2'), 'ACT'],
        ['node3', sum('node3'), 'ACT'],
      ]);
      expect(sum('node2') + sum('node3')).toBe(30);
      // Drain progress is the union of every worker's sessions, not one worker's share.
      expect(status.balancers[0].members[0].drain.sessions_seen).toBe(30);
      const metrics = (await c.req('/jkstatus/metrics')).body;
      expect(metrics).toMatch(new RegExp(`jkbalancer_member_requests_total\\{lb="lb",member="node1",code_class="2xx"\\} ${stickySent}\\b`));
      expect(metrics).toMatch(/jkbalancer_member_sticky_sessions\{lb="lb",member="node1"\} 30\b/);
      expect(metrics).toMatch(/jkbalancer_member_activation\{lb="lb",member="node1",activation="DIS"\} 1\b/);
    } finally {
      expect(await stopCluster(c.cli)).toBe(0);
    }
  });

  it('a member error seen by one worker is every worker\'s; it recovers once for all', async () => {
    const c = await startCluster(n, backends, 'worker.lb.recover_time=1\nworker.maintain=1\n');
    try {
      await backends[2].kill();
      // New sessions until one lands on the dead member and fails over.
      for (let i = 0; i < 20 && !/node3/.test(c.cli.out().match(/member in error for every process.*/)?.[0] ?? ''); i++) {
        expect((await c.req('/app/x')).status).toBe(200);
      }
      await c.cli.waitFor(/member in error for every process/);
      await new Promise((r) => setTimeout(r, 100));
      const errView = await c.processesView();
      for (const p of errView) expect(p.balancers.lb.members.node3.state).toMatch(/^ERR/);
      await backends[2].revive();
      // recover_time 1 s, maintenance every second: the primary moves it to recovery for all.
      const end = Date.now() + 8000;
      let states: string[] = [];
      while (Date.now() < end) {
        await Promise.all(Array.from({ length: 6 }, () => c.req('/app/x')));
        states = (await c.processesView()).map((p) => p.balancers.lb.members.node3.state);
        if (states.every((s) => s === 'OK')) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(states).toEqual(Array(n).fill('OK'));
    } finally {
      expect(await stopCluster(c.cli)).toBe(0);
    }
  });
});

describe('the primary', () => {
  let backends: FakeTomcat[];
  beforeAll(async () => {
    backends = [await startFakeTomcat('node1'), await startFakeTomcat('node2')];
  });
  afterAll(async () => {
    for (const b of backends) await b.close();
  });

  it('keeps the history of every worker: requests summed, latency from the summed buckets, sessions from the merged sketches; SIGHUP keeps it', async () => {
    const c = await startCluster(2, backends, '', ['--history-interval', '200']);
    type Series = { time: number[]; seconds: number[]; requests_per_sec: number[]; p50_ms: (number | null)[]; sessions: number[] };
    const node1 = async () => {
      const h = JSON.parse((await c.req('/jkstatus?cmd=history&mime=json&w=lb&sw=node1')).body) as { history: { balancers: { members: { samples: Series }[] }[] } };
      return h.history.balancers[0].members[0].samples;
    };
    const counted = (s: Series) => Math.round(s.requests_per_sec.reduce((a, r, i) => a + r * s.seconds[i], 0));
    try {
      // Rounds of 24 slow sticky requests of 12 sessions, each on its own connection, until both
      // workers served some (the primary hands a connection to whichever worker is free: on a loaded
      // machine one worker can take a whole round).
      let sent = 0;
      let served: number[] = [];
      for (let round = 0; round < 5 && !(served.length === 2 && served.every((n) => n > 0)); round++) {
        await Promise.all(Array.from({ length: 24 }, (_, i) => c.req('/app/slow?ms=300', { cookie: `JSESSIONID=h${i % 12}.node1` })));
        sent += 24;
        served = (await c.processesView()).map((p) => p.balancers.lb.members.node1.elected);
      }
      expect(served).toHaveLength(2);
      expect(served.every((n) => n > 0)).toBe(true);
      let s = await node1();
      for (const end = Date.now() + 10_000; counted(s) < sent && Date.now() < end; s = await node1()) await new Promise((r) => setTimeout(r, 200));
      expect(counted(s)).toBe(sent);
      // Each worker saw some of the 12 sessions, several saw both: only the union counts 12.
      expect(s.sessions.at(-1)).toBe(12);
      const latencies = s.p50_ms.filter((v): v is number => v !== null);
      expect(latencies.length).toBeGreaterThan(0);
      for (const v of latencies) expect(v).toBeGreaterThan(250);
      for (const v of latencies) expect(v).toBeLessThanOrEqual(500);

      const oldest = s.time[0];
      c.cli.child.kill('SIGHUP');
      await c.cli.waitFor(/configuration reloaded/);
      await new Promise((r) => setTimeout(r, 500));
      const after = await node1();
      expect(after.time[0]).toBe(oldest);
      expect(after.time.at(-1)).toBeGreaterThan(s.time.at(-1)!);
      expect(counted(after)).toBe(sent);
    } finally {
      expect(await stopCluster(c.cli)).toBe(0);
    }
  });

  it('answers a change only when every worker applied it, naming a worker that did not in time', async () => {
    const c = await startCluster(2, backends);
    const pids = (await c.processesView()).map((p) => p.pid);
    try {
      process.kill(pids[0], 'SIGSTOP');
      const started = Date.now();
      // A new connection may reach the stopped worker, where it waits: with SO_REUSEPORT the kernel
      // picks the worker by a hash of the client's port, so each connection is a coin toss (all of
      // four landed there in one CI run: odds 1 in 16). Send the same (idempotent) change on 16
      // connections and take the first answer, from the running worker.
      const sent = Array.from({ length: 16 }, () => c.req('/jkstatus?cmd=update&w=lb&sw=node2&vwf=3&mime=txt'));
      // The first request applies the change and waits for the workers; a same-valued one after it
      // changes nothing and answers at once.
      const answer = await Promise.any(sent.map((p) => p.then((r) => (r.body.includes('type=ERROR') ? r : Promise.reject(new Error(r.body))))));
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect(answer.body).toContain('type=ERROR');
      expect(answer.body).toContain(`pid ${pids[0]}`);
      await c.cli.waitFor(/change not confirmed by every process/);
      process.kill(pids[0], 'SIGCONT');
      await Promise.allSettled(sent);
      // Once it runs again it applies the change like everyone else.
      await new Promise((r) => setTimeout(r, 300));
      expect((await c.req('/jkstatus?cmd=update&w=lb&sw=node2&vwf=4&mime=txt')).body).toContain('type=OK');
    } finally {
      process.kill(pids[0], 'SIGCONT');
      expect(await stopCluster(c.cli)).toBe(0);
    }
  });

  it('replaces a killed worker with the current admin state, and reloads on SIGHUP under load without a failed request', async () => {
    const c = await startCluster(2, backends);
    try {
      expect((await c.req('/jkstatus?cmd=update&w=lb&sw=node1&vwa=1&mime=txt')).body).toContain('type=OK');
      let load = startLoad(c.req);
      await load.answers(10);
      const before = (await c.processesView()).map((p) => p.pid);
      process.kill(before[0], 'SIGKILL');
      await c.cli.waitFor(/worker process died/);
      // A worker starts in 1–2 s; a loaded CI machine has taken several times that.
      const end = Date.now() + 20_000;
      let after: ProcessView[] = [];
      while (Date.now() < end) {
        after = await c.processesView();
        if (after.length === 2 && !after.some((p) => p.pid === before[0])) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(after.map((p) => p.pid)).not.toContain(before[0]);
      expect(after).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 500));
      const killed = await load.stop();
      // Only requests caught by the kill may fail: per load loop, the one in flight on the killed
      // worker and at most one more whose connection reached it as it died (that one times out; seen
      // with either HTTP transport). Anything beyond would be failures after the replacement.
      expect(killed.errors.length + killed.failed.length).toBeLessThanOrEqual(8);

      // The new worker has the drain: no new session reaches node1 anywhere.
      const fresh = await Promise.all(Array.from({ length: 20 }, () => c.req('/app/x')));
      expect(fresh.filter((r) => JSON.parse(r.body).instance === 'node1')).toEqual([]);

      // SIGHUP under load: not one failed request.
      load = startLoad(c.req);
      await load.answers(10);
      c.cli.child.kill('SIGHUP');
      await c.cli.waitFor(/configuration reloaded/);
      await load.answers(10);
      const reloaded = await load.stop();
      expect(reloaded.answered).toBeGreaterThanOrEqual(20);
      expect({ errors: reloaded.errors, failed: reloaded.failed }).toEqual({ errors: [], failed: [] });
      // The reload kept the live drain (the workers file did not change it).
      const after2 = await Promise.all(Array.from({ length: 10 }, () => c.req('/app/x')));
      expect(after2.filter((r) => JSON.parse(r.body).instance === 'node1')).toEqual([]);
    } finally {
      expect(await stopCluster(c.cli)).toBe(0);
    }
  });
});

/** A backend whose /health can be made to fail; it counts the checks it got. */
async function startHealthBackend(route: string) {
  const b = { route, port: 0, healthy: true, checks: 0, server: http.createServer() };
  b.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === '/health') {
      b.checks++;
      res.writeHead(b.healthy ? 200 : 503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ instance: route }));
  });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', () => r()));
  b.port = (b.server.address() as AddressInfo).port;
  return b;
}

describe('health checks with worker processes', () => {
  it('run in the primary alone, and the state they change is every worker\'s routing', async () => {
    const backends = [await startHealthBackend('node1'), await startHealthBackend('node2')];
    const checks = [
      'worker.node1.health_check_method=GET', 'worker.node1.health_check_uri=/health', 'worker.node1.health_check_interval=200',
      'worker.node1.health_check_fails=2', 'worker.node1.health_check_passes=2', 'worker.lb.recover_time=600',
    ].join('\n');
    const c = await startCluster(2, backends, `${checks}\n`);
    const sticky = async () => {
      const replies = await Promise.all(Array.from({ length: 12 }, () => c.req('/app/x', { cookie: 'JSESSIONID=s.node1' })));
      return [...new Set(replies.map((r) => `${r.status} ${JSON.parse(r.body).instance}`))];
    };
    const node1States = async () => (await c.processesView()).map((p) => p.balancers.lb.members.node1.state);
    try {
      expect(await sticky()).toEqual(['200 node1']);
      // One checker, not one per process: checks are chained at least 200 ms apart, so in 2 s one
      // checker sends at most 11; three would send about 30.
      const from = backends[0].checks;
      await new Promise((r) => setTimeout(r, 2000));
      expect(backends[0].checks - from).toBeLessThanOrEqual(11);
      expect(backends[1].checks).toBe(0);

      backends[0].healthy = false;
      const end = Date.now() + 8000;
      let states = await node1States();
      while (Date.now() < end && !states.every((s) => s === 'ERR')) {
        await new Promise((r) => setTimeout(r, 100));
        states = await node1States();
      }
      expect(states).toEqual(['ERR', 'ERR']);
      // Every worker routes node1's sessions to node2 now, without a request failing on node1 first.
      expect(await sticky()).toEqual(['200 node2']);
      const status = JSON.parse((await c.req('/jkstatus?mime=json')).body).balancers[0].members[0];
      expect([status.state, status.errors, status.health.last_result, status.health.up]).toEqual(['ERR', 0, 'fail', false]);
      expect((await c.req('/jkstatus/metrics')).body).toMatch(/^jkbalancer_health_check_up\{lb="lb",member="node1"\} 0$/m);

      backends[0].healthy = true;
      const back = Date.now() + 8000;
      while (Date.now() < back && !states.every((s) => s === 'OK')) {
        await new Promise((r) => setTimeout(r, 100));
        states = await node1States();
      }
      expect(states).toEqual(['OK', 'OK']);
      expect(await sticky()).toEqual(['200 node1']);
    } finally {
      expect(await stopCluster(c.cli)).toBe(0);
      for (const b of backends) await new Promise<void>((r) => b.server.close(() => r()));
    }
  });
});
