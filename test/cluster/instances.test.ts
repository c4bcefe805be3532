/**
 * Several balancer instances sharing their admin state through a real redis-server
 * (--state-redis, README "Several instances"): each instance is the whole product on its own
 * listener and its own Redis connections; the members are fake Tomcats on real sockets.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launch, type Running } from '../../src/app/start.js';
import { createLogger } from '../../src/proxy/log.js';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { httpFarm } from '../helpers/balancer.js';
import { startCli } from '../helpers/cli-process.js';
import { rawGet } from '../helpers/http-client.js';
import { freePort } from '../helpers/tomcat.js';
import { redisTestsEnabled, startRedis, type RedisServer } from '../helpers/redis.js';

const MOUNTS = '/app/*=lb\n/jkstatus=jkstatus\n/jkstatus/*=jkstatus\n';

interface MemberJson {
  name: string;
  activation: string;
  lbfactor: number;
  drain: { sessions_seen: number; last_sticky_ago: number; stop_in: number };
}
interface StatusJson {
  balancers: { members: MemberJson[] }[];
  audit: { source: string; member: string | null; field: string; new: unknown; instance?: string }[];
  shared_state?: { link: 'up' | 'down'; error: string | null; instance: string; versions: Record<string, number> };
  result: { type: string; message: string };
}

interface Instance {
  readonly running: Running;
  readonly port: number;
  readonly dir: string;
  readonly stateFile: string;
  readonly logs: Record<string, unknown>[];
  req(path: string, headers?: Record<string, string>): Promise<{ status: number; body: string; headers: Record<string, unknown> }>;
  status(): Promise<StatusJson>;
  member(name: string): Promise<MemberJson>;
  update(query: string): Promise<{ type: string; message: string }>;
  close(): Promise<void>;
}

const run = redisTestsEnabled();
let redis: RedisServer;
let backends: FakeTomcat[];
let db = 0;
const open: Instance[] = [];

beforeAll(async () => {
  if (!run) return;
  redis = await startRedis();
  backends = [await startFakeTomcat('node1'), await startFakeTomcat('node2'), await startFakeTomcat('node3')];
});
/** Temp dirs used by instances still open when their test ends (afterEach closes those). */
const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  if (!run) return;
  for (const b of backends) await b.close();
  await redis.close();
});
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

/** A Redis database of its own for each test: the instances of one test share it. */
const freshDb = () => `redis://127.0.0.1:${redis.port}/${++db}`;

async function instance(url: string, extra = '', stateFile?: string): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), 'jkb-instances-'));
  const members = Object.fromEntries(backends.map((b) => [b.route, b.port]));
  writeFileSync(join(dir, 'workers.properties'), httpFarm(members, `worker.list=jkstatus\nworker.jkstatus.type=status\n${extra}`));
  writeFileSync(join(dir, 'uriworkermap.properties'), MOUNTS);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const state = stateFile ?? join(dir, 'state.json');
  const running = await launch(
    {
      workersFile: join(dir, 'workers.properties'),
      mountsFile: join(dir, 'uriworkermap.properties'),
      listenHost: '127.0.0.1',
      listenPort: 0,
      logLevel: 'info',
      lenient: false,
      stateFile: state,
      shutdownTimeoutMs: 1000,
      stateRedis: url,
    },
    createLogger('info', sink),
  );
  const port = running.address.port;
  const req = async (path: string, headers: Record<string, string> = {}) => rawGet('127.0.0.1', port, path, { host: `127.0.0.1:${port}`, ...headers });
  const status = async () => JSON.parse((await req('/jkstatus?cmd=list&mime=json')).body) as StatusJson;
  const inst: Instance = {
    running,
    port,
    dir,
    stateFile: state,
    logs,
    req,
    status,
    member: async (name) => (await status()).balancers[0].members.find((m) => m.name === name)!,
    update: async (query) => (JSON.parse((await req(`/jkstatus?cmd=update&w=lb&mime=json&${query}`)).body) as StatusJson).result,
    async close() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  open.push(inst);
  return inst;
}

/** Polls until check() holds; returns how long it took. Fails after timeoutMs. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** n new-session requests: the members that served them. */
async function newSessions(i: Instance, n: number): Promise<string[]> {
  const replies = await Promise.all(Array.from({ length: n }, () => i.req('/app/x')));
  for (const r of replies) expect(r.status).toBe(200);
  return replies.map((r) => (JSON.parse(r.body) as { instance: string }).instance);
}

const versionOf = (message: string) => Number(/shared state version (\d+)/.exec(message)?.[1]);

describe.runIf(run)('several instances, one admin state in Redis', () => {
  it('a drain on A reaches B within 1 s: B shows DIS, sends the member no new session, and audits where it came from', async () => {
    const url = freshDb();
    const a = await instance(url);
    const b = await instance(url);
    expect((await b.status()).shared_state).toMatchObject({ link: 'up', error: null, versions: { lb: 1 } });
    const answer = await a.update('sw=node1&vwa=1');
    expect(answer.type).toBe('OK');
    expect(answer.message).toMatch(/^Action finished \(shared state version 2\)$/);
    const took = await until('B to show node1 DIS', async () => (await b.member('node1')).activation === 'DIS', 1000);
    expect(took).toBeLessThanOrEqual(1000);
    expect(new Set(await newSessions(b, 30))).not.toContain('node1');
    expect(new Set(await newSessions(a, 30))).not.toContain('node1');
    // Sticky sessions of the drained member still reach it through B.
    const sticky = await b.req('/app/x', { cookie: 'JSESSIONID=abc.node1' });
    expect(JSON.parse(sticky.body).instance).toBe('node1');
    const bStatus = await b.status();
    expect(bStatus.shared_state!.versions.lb).toBe(2);
    const aName = (await a.status()).shared_state!.instance;
    expect(aName).toBe(`${(await import('node:os')).hostname()}:${a.port}`);
    expect(bStatus.audit.at(-1)).toMatchObject({ source: 'redis', member: 'node1', field: 'activation', new: 'DIS', instance: aName });
    expect((await a.status()).audit.at(-1)).toMatchObject({ source: 'status', member: 'node1', field: 'activation', new: 'DIS', instance: aName });
    // B's state file follows: a restart without Redis starts from it.
    expect(JSON.parse(readFileSync(b.stateFile, 'utf8')).balancers.lb.members.node1.activation).toEqual({ value: 'DIS', config: 'ACT' });
    // The classic page says where the state lives.
    const html = (await b.req('/jkstatus?cmd=list&ui=classic')).body;
    expect(html).toMatch(/Shared state: redis:\/\/127\.0\.0\.1:\d+\/\d+ <b>connected<\/b>/);
  });

  it('drain progress on B counts sessions only A saw; the drain-idle stop is taken once and shows everywhere', async () => {
    const url = freshDb();
    const extra = 'worker.node1.drain_idle_time=3\n';
    const a = await instance(url, extra);
    const b = await instance(url, extra);
    const c = await instance(url, extra);
    expect((await a.update('sw=node1&vwa=1')).type).toBe('OK');
    await until('every instance to show node1 DIS', async () => (await Promise.all([b, c].map((i) => i.member('node1')))).every((m) => m.activation === 'DIS'), 1000);
    // Sticky traffic to A alone, for longer than drain_idle_time: B and C must not stop the member meanwhile.
    const sessions = Array.from({ length: 20 }, (_, i) => `S${i}ABCDEF.node1`);
    const end = Date.now() + 4000;
    while (Date.now() < end) {
      for (const s of sessions) expect((await a.req('/app/x', { cookie: `JSESSIONID=${s}` })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const i of [a, b, c]) {
      const m = await i.member('node1');
      expect(m.activation).toBe('DIS');
      expect(Math.abs(m.drain.sessions_seen - 20)).toBeLessThanOrEqual(1);
      expect(m.drain.last_sticky_ago).toBeLessThanOrEqual(2);
      expect(m.drain.stop_in).toBeGreaterThan(0);
    }
    // Quiet now: after drain_idle_time the member is stopped, on every instance.
    await until('every instance to show node1 STP', async () => (await Promise.all([a, b, c].map((i) => i.member('node1')))).every((m) => m.activation === 'STP'), 6000);
    // Long enough for a second decision to show, were one taken (and for the logs to be written).
    await new Promise((r) => setTimeout(r, 2000));
    const decisions = [a, b, c].flatMap((i) => i.logs.filter((l) => String(l.msg).startsWith('drain finished')));
    expect(decisions).toHaveLength(1);
    const audits = await Promise.all([a, b, c].map(async (i) => (await i.status()).audit.filter((e) => e.field === 'activation' && e.new === 'STP')));
    // One instance decided (source drain); the other two applied its decision from Redis.
    expect(audits.map((x) => x.length)).toEqual([1, 1, 1]);
    expect(audits.map((x) => x[0].source).sort()).toEqual(['drain', 'redis', 'redis']);
    const decider = audits.find((x) => x[0].source === 'drain')![0].instance;
    expect(audits.every((x) => x[0].instance === decider)).toBe(true);
  });

  it('two instances taking the same drain stop decision at once: it is written once', async () => {
    const url = freshDb();
    const a = await instance(url);
    const b = await instance(url);
    expect((await a.update('sw=node1&vwa=1')).type).toBe('OK');
    await until('B to show node1 DIS', async () => (await b.member('node1')).activation === 'DIS', 1000);
    // What each instance's drain policy commits when it finds the member due.
    const stop = { kind: 'set', lb: 'lb', member: 'node1', key: 'activation', value: 'STP', expect: 'DIS' } as const;
    const drain = { source: 'drain', user: null, remote: undefined } as const;
    const before = (await a.status()).shared_state!.versions.lb;
    const results = await Promise.all([a, b].map((i) => i.running.admin.commit([stop], drain)));
    // One write; the other found the member no longer disabled in Redis and wrote nothing.
    expect(results.map((r) => `${r.complete}:${r.changes.length}:${r.version}`).sort()).toEqual([`false:0:${before + 1}`, `true:1:${before + 1}`]);
    expect(results.every((r) => r.warning === null)).toBe(true);
    await until('both to show node1 STP', async () => (await Promise.all([a, b].map((i) => i.member('node1')))).every((m) => m.activation === 'STP'), 1000);
    const audits = await Promise.all([a, b].map(async (i) => (await i.status()).audit.filter((e) => e.new === 'STP').map((e) => e.source)));
    expect(audits.flat().sort()).toEqual(['drain', 'redis']);
  });

  it('Redis killed: both keep routing with the last state and refuse changes; restarted: both resync and a change reaches both', async () => {
    const url = freshDb();
    const a = await instance(url);
    const b = await instance(url);
    expect((await a.update('sw=node1&vwa=1')).type).toBe('OK');
    await until('B to show node1 DIS', async () => (await b.member('node1')).activation === 'DIS', 1000);
    await redis.kill();
    try {
      await until('both to see the link down', async () => (await Promise.all([a, b].map((i) => i.status()))).every((s) => s.shared_state!.link === 'down'));
      for (const i of [a, b]) expect(new Set(await newSessions(i, 20))).not.toContain('node1');
      const refused = await b.update('sw=node2&vwf=9');
      expect(refused.type).toBe('ERROR');
      expect(refused.message).toMatch(new RegExp(`^Change refused, applied on no instance: Redis redis://127\\.0\\.0\\.1:${redis.port}/\\d+ unreachable since \\S+ \\(.*ECONNREFUSED.*\\)$`));
      for (const i of [a, b]) expect((await i.member('node2')).lbfactor).toBe(1);
      const page = (await a.req('/jkstatus?cmd=list&ui=classic')).body;
      expect(page).toMatch(/<b class="shared-down">DOWN<\/b> since .*: serving the last known state, changes refused/);
      await until('the refusal and the link loss in the logs', async () =>
        b.logs.some((l) => l.msg === 'status change refused: shared state unavailable') && a.logs.some((l) => String(l.msg).startsWith('shared state: Redis link down')));
    } finally {
      // Empty: the server saved nothing. The first instance back seeds it with the state it kept.
      await redis.restart();
    }
    const seeds = () => [a, b].flatMap((i) => i.logs).filter((l) => String(l.msg).includes('seeded it')).length;
    // One seed when the test began (a fresh database), one after the restart.
    await until('both to see the link up', async () => (await Promise.all([a, b].map((i) => i.status()))).every((s) => s.shared_state!.link === 'up'));
    for (const i of [a, b]) expect((await i.member('node1')).activation).toBe('DIS');
    await until('the second seed in the logs', async () => seeds() === 2);
    await new Promise((r) => setTimeout(r, 1000));
    expect(seeds()).toBe(2);
    expect((await b.update('sw=node1&vwa=0')).type).toBe('OK');
    await until('A to show node1 ACT', async () => (await a.member('node1')).activation === 'ACT', 1000);
  });

  it('two conflicting changes at once: both instances end in the same state, the later version\'s', async () => {
    const url = freshDb();
    const a = await instance(url);
    const b = await instance(url);
    for (let round = 0; round < 5; round++) {
      const [ra, rb] = await Promise.all([a.update(`sw=node2&vwf=${10 + round}`), b.update(`sw=node2&vwf=${20 + round}`)]);
      expect([ra.type, rb.type]).toEqual(['OK', 'OK']);
      const [va, vb] = [versionOf(ra.message), versionOf(rb.message)];
      expect(va).not.toBe(vb);
      const later = va > vb ? 10 + round : 20 + round;
      await until(`round ${round}: both to show lbfactor ${later}`, async () => (await Promise.all([a, b].map((i) => i.member('node2')))).every((m) => m.lbfactor === later), 1000);
      const versions = await Promise.all([a, b].map(async (i) => (await i.status()).shared_state!.versions.lb));
      expect(versions).toEqual([Math.max(va, vb), Math.max(va, vb)]);
    }
  });

  it('a change whose message was lost reaches B through the version gap; a change back to the workers file clears the field', async () => {
    const url = freshDb();
    const a = await instance(url);
    const b = await instance(url);
    const raw = createClient({ url });
    await raw.connect();
    try {
      // Written like a change, but never published: only the next version shows B the gap.
      await raw.hSet('jkbalancer:{lb}:m:node3', 'distance', '4');
      await raw.incr('jkbalancer:{lb}:version');
      expect((await a.update('sw=node2&vwd=2')).type).toBe('OK');
      await until('B to take the unpublished change too', async () => {
        const s = await b.status();
        const [n2, n3] = [s.balancers[0].members[1], s.balancers[0].members[2]] as unknown as { distance: number }[];
        return n2.distance === 2 && n3.distance === 4;
      }, 1000);
      await until('B to log the resync', async () => b.logs.some((l) => l.msg === 'shared state: resynced from Redis' && l.reason === "version 3 of 'lb' after 1"));
      expect((await b.update('sw=node2&vwd=0')).type).toBe('OK');
      expect(await raw.hGetAll('jkbalancer:{lb}:m:node2')).toEqual({});
    } finally {
      raw.destroy();
    }
  });

  it('Redis unreachable at start: the instance serves its state file, refuses changes, and takes Redis\'s state once it is there', async () => {
    const url = freshDb();
    const a = await instance(url);
    expect((await a.update('sw=node3&vwa=1')).type).toBe('OK');
    const saved = readFileSync(a.stateFile, 'utf8');
    await redis.kill();
    let b: Instance;
    try {
      scratch.push(mkdtempSync(join(tmpdir(), 'jkb-state-')));
      const keep = join(scratch.at(-1)!, 'state.json');
      writeFileSync(keep, saved);
      b = await instance(url, '', keep);
      expect((await b.status()).shared_state).toMatchObject({ link: 'down' });
      expect((await b.member('node3')).activation).toBe('DIS');
      expect(new Set(await newSessions(b, 20))).not.toContain('node3');
      expect((await b.update('sw=node3&vwa=0')).type).toBe('ERROR');
      await until('the start without Redis in the log', async () => b.logs.some((l) => String(l.msg).startsWith('shared state: Redis unreachable at start')));
    } finally {
      await redis.restart();
    }
    await until('both to see the link up', async () => (await Promise.all([a, b].map((i) => i.status()))).every((s) => s.shared_state!.link === 'up'));
    expect((await b.update('sw=node3&vwa=0')).type).toBe('OK');
    await until('A to show node3 ACT', async () => (await a.member('node3')).activation === 'ACT', 1000);
  });

  it('with --processes the primary holds the link: a change from another instance reaches every worker process, and back', async () => {
    const url = freshDb();
    const b = await instance(url);
    const dir = mkdtempSync(join(tmpdir(), 'jkb-instances-cli-'));
    const members = Object.fromEntries(backends.map((x) => [x.route, x.port]));
    writeFileSync(join(dir, 'workers.properties'), httpFarm(members, 'worker.list=jkstatus\nworker.jkstatus.type=status\n'));
    writeFileSync(join(dir, 'uriworkermap.properties'), MOUNTS);
    const port = await freePort();
    const cli = startCli(['--workers', join(dir, 'workers.properties'), '--listen', `127.0.0.1:${port}`, '--no-persist', '--processes', '2', '--state-redis', url]);
    try {
      await cli.waitFor(/jkbalancer started/);
      const req = (path: string, headers: Record<string, string> = {}) => rawGet('127.0.0.1', port, path, { host: `127.0.0.1:${port}`, ...headers });
      const cliStatus = async () => JSON.parse((await req('/jkstatus?cmd=list&mime=json')).body) as StatusJson;
      expect((await cliStatus()).shared_state).toMatchObject({ link: 'up', instance: expect.stringMatching(new RegExp(`:${port}$`)) });
      expect((await b.update('sw=node1&vwa=1')).type).toBe('OK');
      await until('the CLI instance to show node1 DIS', async () => (await cliStatus()).balancers[0].members[0].activation === 'DIS', 1000);
      // Every request on its own connection: node:cluster spreads them over both worker processes.
      const served = await Promise.all(Array.from({ length: 40 }, () => req('/app/x')));
      expect(served.map((r) => JSON.parse(r.body).instance)).not.toContain('node1');
      const perProcess = JSON.parse((await req('/jkstatus/processes')).body) as { processes: { balancers: { lb: { members: Record<string, { elected: number }> } } }[] };
      expect(perProcess.processes).toHaveLength(2);
      const answer = JSON.parse((await req('/jkstatus?cmd=update&w=lb&sw=node2&vwf=3&mime=json')).body) as StatusJson;
      expect(answer.result.message).toMatch(/shared state version \d+/);
      await until('B to show node2 lbfactor 3', async () => (await b.member('node2')).lbfactor === 3, 1000);
    } finally {
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
