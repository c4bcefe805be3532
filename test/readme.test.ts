/**
 * README's status-API examples, run as written (curl through bash) against a running balancer, with
 * their documented effects checked. The quick-start command itself is run by .ci/run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launch, type Running } from '../src/app/start.js';
import { createLogger } from '../src/proxy/log.js';
import { Act } from '../src/routing/types.js';
import { startFakeTomcat, type FakeTomcat } from './helpers/fake-tomcat.js';

const sh = promisify(execFile);
const readme = readFileSync('README.md', 'utf8');
const curls = readme.split('\n').filter((l) => l.startsWith('curl "$S'));

let backends: FakeTomcat[];
let running: Running;
let dir: string;

beforeAll(async () => {
  backends = [await startFakeTomcat('node1'), await startFakeTomcat('node2'), await startFakeTomcat('node3')];
  dir = mkdtempSync(join(tmpdir(), 'jkb-readme-'));
  // The shipped samples, pointed at this test's backends.
  let workers = readFileSync('conf/workers.properties', 'utf8');
  backends.forEach((b, i) => (workers = workers.replace(`worker.node${i + 1}.port=808${i + 1}`, `worker.node${i + 1}.port=${b.port}`)));
  writeFileSync(join(dir, 'workers.properties'), workers);
  running = await launch(
    {
      workersFile: join(dir, 'workers.properties'),
      mountsFile: 'conf/uriworkermap.properties',
      listenHost: '127.0.0.1',
      listenPort: 0,
      logLevel: 'silent',
      lenient: false,
      stateFile: null,
      shutdownTimeoutMs: 1000,
    },
    createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
  );
});
afterAll(async () => {
  await running.stop();
  for (const b of backends) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(line: string): Promise<string> {
  const S = `http://127.0.0.1:${running.address.port}/jkstatus`;
  const { stdout } = await sh('bash', ['-c', line], { env: { ...process.env, S }, timeout: 10_000 });
  return stdout;
}

const node1 = () => running.app.farm.balancers.get('lb')!.memberByName('node1')!;

it('README shows the drain / stop / activate / xml / json / history examples', () => {
  expect(curls.map((c) => /vwa=\d|mime=xml|cmd=history|mime=json/.exec(c)?.[0])).toEqual(['vwa=1', 'vwa=2', 'vwa=0', 'mime=xml', 'mime=json', 'cmd=history']);
});

it('each README curl example does what the README says', async () => {
  const [drain, stop, activate, xml, json, history] = curls;
  expect(await run(drain)).toContain('Result: type=OK message="Action finished"');
  expect(node1().activation).toBe(Act.DISABLED);
  expect(await run(stop)).toContain('type=OK');
  expect(node1().activation).toBe(Act.STOPPED);
  expect(await run(activate)).toContain('type=OK');
  expect(node1().activation).toBe(Act.ACTIVE);

  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(await run(xml));
  const members = doc['jk:status']['jk:balancers']['jk:balancer']['jk:member'];
  expect(members.map((m: { name: string }) => m.name)).toEqual(['node1', 'node2', 'node3']);

  const list = JSON.parse(await run(json));
  expect(list.result.type).toBe('OK');
  expect(list.balancers[0].members.map((m: { name: string; activation: string }) => `${m.name}:${m.activation}`)).toEqual(['node1:ACT', 'node2:ACT', 'node3:ACT']);

  const h = JSON.parse(await run(history));
  expect(h.result.type).toBe('OK');
  expect([h.history.interval_ms, h.history.slots]).toEqual([5000, 720]);
  expect(h.history.balancers.map((b: { name: string; members: { name: string }[] }) => [b.name, b.members.map((m) => m.name)])).toEqual([['lb', ['node1']]]);
});

it('the classic server-rendered page stays available as the README says', async () => {
  const html = await run(`curl -s "$S?cmd=list&ui=classic"`);
  expect(html).toContain('JK Status Manager');
  expect(html).not.toContain('<script');
});
