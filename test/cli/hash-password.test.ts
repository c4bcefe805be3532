/**
 * `jkbalancer hash-password` makes a credentials line that `start --credentials` accepts: changes
 * with the right Basic credentials go through, wrong ones get 401 and change nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launch } from '../../src/app/start.js';
import { createLogger } from '../../src/proxy/log.js';
import { Act } from '../../src/routing/types.js';
import { httpFarm } from '../helpers/balancer.js';
import { ensureBuilt } from '../helpers/built.js';
import { get } from '../helpers/http-client.js';

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'jkb-cred-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('hash-password output works as a --credentials file for status changes', async () => {
  const line = execFileSync(process.execPath, ['bin/jkbalancer.js', 'hash-password', 'ops'], { input: 'pa55word\n' }).toString();
  expect(line).toMatch(/^ops:scrypt\$/);
  expect(line).not.toContain('pa55word');
  writeFileSync(join(dir, 'creds'), line);
  writeFileSync(join(dir, 'w.properties'), httpFarm({ node1: 1, node2: 2 }, 'worker.list=jkstatus\nworker.jkstatus.type=status\nworker.jkstatus.user=ops'));
  writeFileSync(join(dir, 'm.properties'), '/jkstatus=jkstatus\n');
  const running = await launch(
    {
      workersFile: join(dir, 'w.properties'),
      mountsFile: join(dir, 'm.properties'),
      listenHost: '127.0.0.1',
      listenPort: 0,
      logLevel: 'silent',
      lenient: false,
      stateFile: null,
      credentialsFile: join(dir, 'creds'),
      shutdownTimeoutMs: 1000,
    },
    createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
  );
  try {
    const url = `http://127.0.0.1:${running.address.port}/jkstatus?cmd=update&mime=txt&w=lb&sw=node2&vwa=1`;
    const auth = (pw: string) => ({ authorization: `Basic ${Buffer.from(`ops:${pw}`).toString('base64')}` });
    const node2 = () => running.app.farm.balancers.get('lb')!.memberByName('node2')!;

    const wrong = await get(url, auth('nope'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain('Basic');
    expect(node2().activation).toBe(Act.ACTIVE);

    const right = await get(url, auth('pa55word'));
    expect(right.status).toBe(200);
    expect(right.text).toContain('type=OK');
    expect(node2().activation).toBe(Act.DISABLED);
  } finally {
    await running.stop();
  }
});
