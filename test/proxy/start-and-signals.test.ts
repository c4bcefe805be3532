/**
 * The assembled product: `launch()` (what `jkbalancer start` runs) with its status worker, and the
 * real CLI process with its signals.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, type Running } from '../../src/app/start.js';
import { createLogger } from '../../src/proxy/log.js';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { httpFarm } from '../helpers/balancer.js';
import { ensureBuilt } from '../helpers/built.js';
import { startCli } from '../helpers/cli-process.js';
import { get, sessionCookie } from '../helpers/http-client.js';
import { until } from '../helpers/until.js';
import { freePort } from '../helpers/tomcat.js';

let backends: FakeTomcat[];
let dir: string;
beforeAll(async () => {
  ensureBuilt();
  backends = [await startFakeTomcat('node1'), await startFakeTomcat('node2')];
  dir = mkdtempSync(join(tmpdir(), 'jkb-start-'));
});
afterAll(async () => {
  for (const b of backends) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

const quiet = () => createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
const workers = () => httpFarm({ node1: backends[0].port, node2: backends[1].port }, 'worker.list=jkstatus\nworker.jkstatus.type=status');
const MOUNTS = '/app/*=lb\n/jkstatus=jkstatus\n/jkstatus/*=jkstatus\n';

async function launchHere(port = 0, extra = ''): Promise<Running> {
  writeFileSync(join(dir, 'workers.properties'), workers() + extra);
  writeFileSync(join(dir, 'uriworkermap.properties'), MOUNTS);
  return launch(
    {
      workersFile: join(dir, 'workers.properties'),
      mountsFile: join(dir, 'uriworkermap.properties'),
      listenHost: '127.0.0.1',
      listenPort: port,
      logLevel: 'silent',
      lenient: false,
      stateFile: join(dir, 'workers.properties.jkstate.json'),
      shutdownTimeoutMs: 2000,
    },
    quiet(),
  );
}

describe('drain by API survives a restart', () => {
  it('disables a member via cmd=update; sessions stay, new ones avoid it; still disabled after restart', async () => {
    let running = await launchHere();
    const base = `http://127.0.0.1:${running.address.port}`;
    // A session on node2 first.
    let sid: string | null = null;
    for (let i = 0; i < 10 && !sid?.endsWith('.node2'); i++) sid = sessionCookie(await get(`${base}/app/page`));
    expect(sid?.endsWith('.node2')).toBe(true);

    // Counters the status worker shows are real: node2 has served, so it has a pooled connection.
    const shown = await get(`${base}/jkstatus?cmd=show&mime=prop&w=lb&sw=node2`);
    expect(Number(/worker\.node2\.connected=(\d+)/.exec(shown.text)![1])).toBeGreaterThanOrEqual(1);
    expect(Number(/worker\.node2\.max_connected=(\d+)/.exec(shown.text)![1])).toBeGreaterThanOrEqual(1);
    expect(Number(/worker\.node2\.elected=(\d+)/.exec(shown.text)![1])).toBeGreaterThanOrEqual(1);

    const upd = await get(`${base}/jkstatus?cmd=update&mime=txt&w=lb&sw=node2&vwa=1`);
    expect(upd.status).toBe(200);
    expect(upd.text).toContain('type=OK');
    expect((await get(`${base}/app/page`, { cookie: `JSESSIONID=${sid}` })).json().instance).toBe('node2');
    for (let i = 0; i < 6; i++) expect((await get(`${base}/app/page`)).json().instance).toBe('node1');

    const saved = JSON.parse(readFileSync(join(dir, 'workers.properties.jkstate.json'), 'utf8'));
    expect(JSON.stringify(saved)).toContain('DIS');
    await running.stop();

    running = await launchHere();
    const base2 = `http://127.0.0.1:${running.address.port}`;
    const list = await get(`${base2}/jkstatus?cmd=show&mime=prop&w=lb&sw=node2`);
    expect(list.text).toMatch(/worker\.node2\.activation=DIS/);
    for (let i = 0; i < 6; i++) expect((await get(`${base2}/app/page`)).json().instance).toBe('node1');
    await running.stop();
  });
});

describe('a corrupt state file', () => {
  it('is refused, kept aside for the operator, and the balancer starts from the workers file', async () => {
    const stateFile = join(dir, 'workers.properties.jkstate.json');
    writeFileSync(stateFile, '{"version": 1, "balancers": {"lb": ');
    const running = await launchHere();
    try {
      const node2 = running.app.farm.balancers.get('lb')!.memberByName('node2')!;
      expect(node2.activation).toBe(0);
      const kept = readdirSync(dir).filter((f) => f.startsWith('workers.properties.jkstate.json.corrupt-'));
      expect(kept).toHaveLength(1);
      expect(readFileSync(join(dir, kept[0]), 'utf8')).toBe('{"version": 1, "balancers": {"lb": ');
      // Live changes go to a fresh state file.
      expect((await get(`http://127.0.0.1:${running.address.port}/jkstatus?cmd=update&mime=txt&w=lb&sw=node2&vwa=1`)).text).toContain('type=OK');
      const end = Date.now() + 3000;
      while (!existsSync(stateFile) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(JSON.parse(readFileSync(stateFile, 'utf8')).balancers.lb.members.node2.activation.value).toBe('DIS');
    } finally {
      await running.stop();
      for (const f of readdirSync(dir)) if (f.includes('jkstate')) rmSync(join(dir, f));
    }
  });
});

describe('metrics', () => {
  it('are served below the status worker mount and on --metrics-listen, with the traffic counted', async () => {
    writeFileSync(join(dir, 'workers.properties'), workers());
    writeFileSync(join(dir, 'uriworkermap.properties'), MOUNTS);
    const running = await launch(
      {
        workersFile: join(dir, 'workers.properties'),
        mountsFile: join(dir, 'uriworkermap.properties'),
        listenHost: '127.0.0.1',
        listenPort: 0,
        logLevel: 'silent',
        lenient: false,
        stateFile: null,
        metricsHost: '127.0.0.1',
        metricsPort: 0,
        shutdownTimeoutMs: 1000,
      },
      quiet(),
    );
    try {
      for (let i = 0; i < 3; i++) await get(`http://127.0.0.1:${running.address.port}/app/x?nosession=1`);
      const viaStatus = await get(`http://127.0.0.1:${running.address.port}/jkstatus/metrics`);
      const separate = await get(`http://127.0.0.1:${running.metricsAddress!.port}/metrics`);
      const total = (text: string) =>
        text
          .split('\n')
          .filter((l) => l.startsWith('jkbalancer_member_requests_total{'))
          .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
      expect(total(viaStatus.text)).toBe(3);
      expect(total(separate.text)).toBe(3);
    } finally {
      await running.stop();
    }
  });
});

describe('drain policy', () => {
  it('stops a disabled member when its drain deadline passes and persists the stop', async () => {
    rmSync(join(dir, 'workers.properties.jkstate.json'), { force: true });
    const running = await launchHere(0, 'worker.node2.drain_deadline=1\n');
    try {
      const base = `http://127.0.0.1:${running.address.port}`;
      expect((await get(`${base}/jkstatus?cmd=update&mime=txt&w=lb&sw=node2&vwa=1`)).text).toContain('type=OK');
      const node2 = () => running.app.farm.balancers.get('lb')!.memberByName('node2')!;
      expect(node2().activation).toBe(1);
      const end = Date.now() + 6000;
      while (node2().activation !== 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(node2().activation).toBe(2);
      const end2 = Date.now() + 3000;
      while (!readFileSync(join(dir, 'workers.properties.jkstate.json'), { flag: 'a+' }).toString().includes('STP') && Date.now() < end2) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(readFileSync(join(dir, 'workers.properties.jkstate.json'), 'utf8')).toContain('"STP"');
    } finally {
      await running.stop();
      rmSync(join(dir, 'workers.properties.jkstate.json'), { force: true });
    }
  });
});

describe('the jkbalancer process', () => {
  let child: ChildProcess | null = null;
  afterAll(() => child?.kill('SIGKILL'));

  it('reloads on SIGHUP, refuses a bad file, and exits 0 on SIGTERM after in-flight requests', async () => {
    const port = await freePort();
    writeFileSync(join(dir, 'p.workers.properties'), workers());
    writeFileSync(join(dir, 'p.uriworkermap.properties'), MOUNTS);
    const cli = startCli(['--workers', join(dir, 'p.workers.properties'), '--mounts', join(dir, 'p.uriworkermap.properties'), '--listen', `127.0.0.1:${port}`, '--no-persist']);
    child = cli.child;
    const waitFor = (re: RegExp) => cli.waitFor(re);
    await waitFor(/jkbalancer started/);
    expect((await get(`http://127.0.0.1:${port}/app/x`)).status).toBe(200);

    // Continuous load across both reloads: not one request may fail.
    let running = true;
    const statuses: number[] = [];
    const load = Array.from({ length: 4 }, async () => {
      while (running) statuses.push((await get(`http://127.0.0.1:${port}/app/x?nosession=1`)).status);
    });
    const answers = (n: number) => until(() => statuses.length >= n, `${n} answers`, 15_000);
    await answers(10);
    writeFileSync(join(dir, 'p.workers.properties'), workers() + 'worker.node1.lbfactor=3\n');
    child.kill('SIGHUP');
    await waitFor(/configuration reloaded/);

    writeFileSync(join(dir, 'p.workers.properties'), workers() + 'worker.node1.bogus=1\n');
    child.kill('SIGHUP');
    await waitFor(/reload refused/);
    await answers(statuses.length + 10);
    running = false;
    await Promise.all(load);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(cli.out()).toContain('bogus');
    expect((await get(`http://127.0.0.1:${port}/app/x`)).status).toBe(200);

    const slow = get(`http://127.0.0.1:${port}/app/slow?ms=400`);
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(await cli.exited).toBe(0);
    expect(cli.out()).toContain('"msg":"stopped"');
    child = null;
  });
});

describe('the request log of the jkbalancer process', () => {
  let child: ChildProcess | null = null;
  afterAll(() => child?.kill('SIGKILL'));

  it('loses no line across SIGHUP and SIGTERM under load: one line per answered request', async () => {
    const port = await freePort();
    writeFileSync(join(dir, 'l.workers.properties'), workers());
    writeFileSync(join(dir, 'l.uriworkermap.properties'), MOUNTS);
    const cli = startCli(['--workers', join(dir, 'l.workers.properties'), '--mounts', join(dir, 'l.uriworkermap.properties'), '--listen', `127.0.0.1:${port}`, '--no-persist']);
    child = cli.child;
    await cli.waitFor(/jkbalancer started/);
    // Load until the listener goes away; count every reply a client received.
    let answered = 0;
    let stop = false;
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) {
        try {
          const r = await get(`http://127.0.0.1:${port}/app/page?nosession=1`);
          if (r.status === 200) answered++;
        } catch {
          stop = true; // refused: the balancer has stopped listening
        }
      }
    });
    // Counted in answers, not time, so both signals land under load even on a slow machine.
    const answers = (n: number) => until(() => answered >= n, `${n} answers`, 15_000);
    await answers(15);
    child.kill('SIGHUP');
    await cli.waitFor(/configuration reloaded/);
    await answers(answered + 15);
    child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    stop = true;
    await Promise.all(load);
    child = null;
    const out = cli.out();
    const lines = out.split('\n').filter((l) => l.includes('"msg":"request"'));
    expect(out).toContain('configuration reloaded');
    // Enough requests to span both signals even on a loaded machine.
    expect(answered).toBeGreaterThan(20);
    expect(lines.length).toBe(answered);
  });
});
