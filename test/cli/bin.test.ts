/** The real executable: bin/jkbalancer.js → dist/src/cli/main.js. */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/built.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'jkb-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(ensureBuilt, 130_000);

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('node', args, { timeout: 20_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe('bin/jkbalancer.js', () => {
  it('check on the shipped samples exits 0', async () => {
    const r = await node(['bin/jkbalancer.js', 'check', '--workers', 'conf/workers.properties', '--mounts', 'conf/uriworkermap.properties']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('configuration OK');
  });

  it('check on a broken file exits 1 with file:line', async () => {
    const r = await node(['bin/jkbalancer.js', 'check', '--workers', 'test/config/fixtures/modjk-sample.properties', '--mounts', 'conf/uriworkermap.properties']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("conf/uriworkermap.properties:7: /jkstatus: worker 'jkstatus' is not in worker.list");
  });

  it('tells to build when dist/ is missing', async () => {
    mkdirSync(join(dir, 'bin'));
    copyFileSync('bin/jkbalancer.js', join(dir, 'bin', 'jkbalancer.js'));
    const r = await node([join(dir, 'bin', 'jkbalancer.js'), '--version']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run `npm run build` first');
  });
});
