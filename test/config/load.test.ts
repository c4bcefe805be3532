/** loadConfig over real files: the shipped samples, the mod_jk-layout fixture, errors. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type LbConfig, type StatusConfig } from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'jkb-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('loads conf/ as shipped, without warnings', () => {
    const c = loadConfig({ workersFile: 'conf/workers.properties', mountsFile: 'conf/uriworkermap.properties', env: {} });
    expect(c.warnings).toEqual([]);
    expect(c.workers.list).toEqual(['lb', 'jkstatus']);
    const lb = c.workers.workers.get('lb') as LbConfig;
    expect(lb.members.map((m) => [m.name, m.type, m.host, m.port, m.route])).toEqual([
      ['node1', 'http', '127.0.0.1', 8081, 'node1'],
      ['node2', 'http', '127.0.0.1', 8082, 'node2'],
      ['node3', 'http', '127.0.0.1', 8083, 'node3'],
    ]);
    expect(c.mounts.match('/jkstatus')?.worker).toBe('jkstatus');
    expect(c.mounts.match('/jkstatus/')?.worker).toBe('jkstatus');
    expect(c.mounts.match('/shop/cart')?.worker).toBe('lb');
  });

  it('loads a file with the layout of mod_jk\'s sample workers.properties', () => {
    const c = loadConfig({ workersFile: 'test/config/fixtures/modjk-sample.properties', env: {} });
    expect(c.warnings).toEqual([]);
    expect(c.workers.list).toEqual(['jk-status', 'jk-manager', 'balancer']);
    expect((c.workers.workers.get('jk-status') as StatusConfig).readOnly).toBe(true);
    expect((c.workers.workers.get('jk-manager') as StatusConfig).readOnly).toBe(false);
    const lb = c.workers.workers.get('balancer') as LbConfig;
    expect([lb.errorEscalationTimeSec, lb.maxReplyTimeouts]).toEqual([0, 10]);
    expect(lb.members.map((m) => [m.name, m.type, m.port, m.connectionPoolMinsize, m.connectionPoolTimeoutSec, m.replyTimeoutMs, m.recoveryOptions])).toEqual([
      ['node1', 'ajp13', 8109, 0, 600, 300000, 3],
      ['node2', 'ajp13', 8209, 0, 600, 300000, 3],
    ]);
    expect(lb.members[0].ping).toEqual({ connectTimeoutMs: 10000, prepostTimeoutMs: 10000, intervalSec: 100, pingTimeoutMs: 10000, mode: 'A' });
    expect(c.mounts.rules).toEqual([]);
  });

  it('throws ConfigError with every error of both files, each as file:line: directive: message', () => {
    const w = write('bad-workers.properties', 'worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=n1\nworker.n1.type=http\nworker.n1.lbfactor=x\n');
    const m = write('bad-map.properties', '/ok=lb\n*.jsp=lb\n');
    let err: unknown;
    try {
      loadConfig({ workersFile: w, mountsFile: m, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.issues.filter((i) => i.severity === 'error').map((i) => `${i.file}:${i.line}`)).toEqual([`${w}:5`, `${m}:2`]);
    expect(ce.message).toContain(`${w}:5: worker.n1.lbfactor: 'x' is not an integer`);
    expect(ce.message).toContain(`${m}:2: *.jsp: a pattern must start with '/'`);
  });

  it('lenient: loads what mod_jk loads and returns the warnings', () => {
    const w = write('lenient.properties', 'worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=n1,typo\nworker.n1.type=http\n');
    expect(() => loadConfig({ workersFile: w, env: {} })).toThrow(ConfigError);
    const c = loadConfig({ workersFile: w, lenient: true, env: {} });
    expect(c.warnings.map((i) => i.line)).toEqual([3]);
  });

  it('a missing file is a ConfigError naming it', () => {
    expect(() => loadConfig({ workersFile: join(dir, 'nope.properties') })).toThrow(/nope\.properties: cannot read the file \(ENOENT\)/);
  });
});
