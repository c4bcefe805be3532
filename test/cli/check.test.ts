/** `jkbalancer check` and the program's shared flags, run in-process through runCli. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';

const dir = mkdtempSync(join(tmpdir(), 'jkb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'jkbalancer', ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('jkbalancer check', () => {
  it('accepts conf/ and prints lbs, members, status workers and mounts with their source', async () => {
    const r = await run('check', '--workers', 'conf/workers.properties', '--mounts', 'conf/uriworkermap.properties');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('lb lb: method=Request sticky retries=2 recover_time=60s, 3 members');
    expect(r.out).toContain('node2: http 127.0.0.1:8082 route=node2 lbfactor=1 distance=0 domain=- activation=ACT redirect=-');
    expect(r.out).toContain('status jkstatus: read-write');
    expect(r.out).toContain('/jkstatus/* → jkstatus  (uriworkermap, conf/uriworkermap.properties:8)');
    expect(r.out).toContain('/* → lb  (uriworkermap, conf/uriworkermap.properties:11)');
    expect(r.out).toContain('configuration OK');
  });

  it('prints a member\'s health checks', async () => {
    const w = write('hc.properties', 'worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=n1\nworker.n1.type=http\nworker.n1.health_check_method=HEAD\nworker.n1.health_check_uri=/up\n');
    const r = await run('check', '--workers', w);
    expect(r.code).toBe(0);
    expect(r.out).toContain('n1: http localhost:80 route=n1 lbfactor=1 distance=0 domain=- activation=ACT redirect=- health_check=HEAD /up every 10000ms (10000ms failing) fails=3 passes=2');
  });

  it("accepts the mod_jk sample layout", async () => {
    const r = await run('check', '--workers', 'test/config/fixtures/modjk-sample.properties');
    expect(r.code).toBe(0);
    expect(r.out).toContain('status jk-status: read-only');
    expect(r.out).toContain('node1: ajp13 localhost:8109 route=node1');
  });

  it('prints every error as file:line: directive: message and exits 1', async () => {
    const w = write('w.properties', 'worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=n1,n2\nworker.n1.type=http\nworker.n1.Port=1\n');
    const m = write('m.properties', '*.jsp=lb\n');
    const r = await run('check', '--workers', w, '--mounts', m);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toEqual([
      `${w}:3: worker.lb.balance_workers: member 'n2' is not defined (no worker.n2.* properties)`,
      `${w}:5: worker.n1.Port: unknown directive 'Port' (directive names are case-sensitive: 'port')`,
      `${m}:1: *.jsp: a pattern must start with '/' after the optional '-' and '!' (write '/*.jsp', not '*.jsp')`,
      '3 errors: configuration refused',
      '',
    ]);
  });

  it('--lenient loads what mod_jk loads and prints the warnings', async () => {
    const w = write('l.properties', 'worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=n1,n2\nworker.n1.type=http\n');
    const r = await run('check', '--workers', w, '--lenient');
    expect(r.code).toBe(0);
    expect(r.err).toContain(`warning: ${w}:3: worker.lb.balance_workers: member 'n2' is not defined`);
    expect(r.out).toContain('n2: ajp13 localhost:8009');
  });

  it('a missing file exits 1 naming it', async () => {
    const r = await run('check', '--workers', join(dir, 'none.properties'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('none.properties: cannot read the file (ENOENT)');
  });

  it('--workers is required', async () => {
    const r = await run('check');
    expect(r.code).toBe(1);
    expect(r.err).toContain("required option '--workers <file>' not specified");
  });
});

describe('program', () => {
  it('--version prints the package version', async () => {
    const r = await run('--version');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('--help lists the commands; each command has --help', async () => {
    const top = await run('--help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/start \[options\]/);
    expect(top.out).toMatch(/check \[options\]/);
    const start = await run('start', '--help');
    for (const flag of ['--workers', '--mounts', '--listen', '--log-level', '--lenient', '--state-file', '--no-persist', '--credentials', '--metrics-listen', '--shutdown-timeout']) {
      expect(start.out).toContain(flag);
    }
    expect(start.out).toContain('env: JKB_LISTEN');
  });

  it('start refuses a bad --listen before doing anything', async () => {
    const r = await run('start', '--listen', '8080');
    expect(r.code).toBe(1);
    expect(r.err).toContain("option '--listen <host:port>' argument '8080' is invalid. expected host:port");
  });

  it('an unknown command is an error', async () => {
    expect((await run('frobnicate')).code).toBe(1);
  });
});
