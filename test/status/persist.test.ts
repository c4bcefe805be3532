/** Persistence of live changes: atomic state file, re-application to new balancers, refusal of bad files. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyState, StateStore } from '../../src/status/persist.js';
import { buildBalancers, parseProps, startHarness, type Harness } from './harness.js';

let dir: string;
let h: Harness | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jkstatus-state-'));
});
afterEach(async () => {
  await h?.close();
  h = null;
  rmSync(dir, { recursive: true, force: true });
});

const quietLogger = () => {
  const lines: { obj: object; msg?: string }[] = [];
  return { lines, info: (obj: object, msg?: string) => lines.push({ obj, msg }), warn: (obj: object, msg?: string) => lines.push({ obj, msg }) };
};

describe('StateStore', () => {
  it('writes every change atomically and re-applies it to freshly built balancers', async () => {
    const path = join(dir, 'state.json');
    const store = new StateStore(path);
    h = await startHarness({ store, resolveHost: async () => true });
    const changes = [
      'cmd=update&w=lb&sw=n1&vwa=d&vwf=3&vwn=east.n1&vwd=2&vart=5000&vahst=localhost&vaprt=9009',
      'cmd=update&w=lb&sw=n2&vwr=n1&vwc=west',
      'cmd=update&w=lb&vls=0&vlf=1&vlm=b&vll=p&vlr=3&vlri=250&vlt=90&vlee=20&vlx=4',
    ];
    for (const q of changes) expect(parseProps((await h.get(`${q}&mime=prop`)).body).get('worker.result.type')).toBe('OK');

    // Only the final file, no temp files left behind.
    expect(readdirSync(dir)).toEqual(['state.json']);
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    expect(saved.version).toBe(1);
    expect(saved.balancers.lb.members.n1.lbfactor).toEqual({ value: 3, config: 1 });
    expect(saved.balancers.lb.members.n1.domain).toEqual({ value: 'east', config: '' });
    expect(saved.balancers.lb.settings.method).toEqual({ value: 'Busyness', config: 'Request' });

    const live = h.balancers.get('lb')!;
    const { state, problems } = StateStore.load(path);
    expect(problems).toEqual([]);
    const fresh = buildBalancers().balancers;
    const logger = quietLogger();
    expect(applyState(state, fresh, logger)).toEqual([]);
    const b = fresh.get('lb')!;
    const view = (x: typeof b) => ({
      lb: [x.lb.stickySession, x.lb.stickySessionForce, x.lb.method, x.lb.lock, x.lb.retries, x.lb.retryIntervalMs, x.lb.recoverTimeSec, x.lb.errorEscalationTimeSec, x.lb.maxReplyTimeouts],
      members: x.members.map((m) => [m.activation, m.lbfactor, m.lbMult, m.route, m.domain, m.redirect, m.distance, m.replyTimeoutMs, m.host, m.port]),
    });
    expect(view(b)).toEqual(view(live));
    expect(b.indexOfRoute('east.n1')).toBe(0);
    expect(logger.lines.filter((l) => l.msg === 'restored status change').length).toBeGreaterThan(10);
  });

  it('setting a value back to the workers file\'s removes it from the file', async () => {
    const path = join(dir, 'state.json');
    h = await startHarness({ store: new StateStore(path) });
    await h.get('cmd=update&w=lb&sw=n1&vwd=2');
    expect(JSON.parse(readFileSync(path, 'utf8')).balancers.lb.members.n1.distance).toEqual({ value: 2, config: 0 });
    await h.get('cmd=update&w=lb&sw=n1&vwd=0');
    expect(JSON.parse(readFileSync(path, 'utf8')).balancers).toEqual({});
  });

  it('reports a failed write in the result (the change itself stays live)', async () => {
    const store = new StateStore(join(dir, 'missing-dir', 'state.json'));
    h = await startHarness({ store });
    const p = parseProps((await h.get('cmd=update&w=lb&sw=n1&vwd=2&mime=prop')).body);
    expect(p.get('worker.result.type')).toBe('ERROR');
    expect(p.get('worker.result.message')).toMatch(/^Update applied but not saved to the state file: /);
    expect(h.balancers.get('lb')!.members[0].distance).toBe(2);
  });

  it('a missing file is an empty state', () => {
    expect(StateStore.load(join(dir, 'none.json'))).toEqual({ state: { version: 1, balancers: {} }, problems: [] });
  });

  it('refuses a corrupt file with a clear message', () => {
    const path = join(dir, 'state.json');
    writeFileSync(path, '{"version": 1, "balancers": {');
    expect(() => StateStore.load(path)).toThrow(/state file .*state\.json is not valid JSON .*refusing it/);
    writeFileSync(path, '{"version": 7, "balancers": {}}');
    expect(() => StateStore.load(path)).toThrow(/not a jkbalancer state file of version 1/);
    writeFileSync(path, '[]');
    expect(() => StateStore.load(path)).toThrow(/refusing it/);
  });

  it('reports a "__proto__" balancer or member instead of letting it replace an object\'s prototype', () => {
    const path = join(dir, 'state.json');
    const fields = { retries: { value: 5, config: 2 } };
    writeFileSync(path, `{"version": 1, "balancers": {"__proto__": {"settings": {}, "members": {}}, "lb": {"settings": {}, "members": {"__proto__": ${JSON.stringify(fields)}}}}}`);
    const { state, problems } = StateStore.load(path);
    expect(problems).toEqual(['__proto__: not a worker name; ignored', 'lb/__proto__: not a worker name; ignored']);
    expect(Object.getPrototypeOf(state.balancers)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(state.balancers.lb.members)).toBe(Object.prototype);
  });

  it('drops bad entries, reports members/balancers no longer configured and values changed in the workers file', () => {
    const path = join(dir, 'state.json');
    writeFileSync(
      path,
      JSON.stringify({
        version: 1,
        balancers: {
          lb: {
            settings: { retries: { value: 5, config: 2 }, bogus: { value: 1, config: 0 } },
            members: {
              n1: { lbfactor: { value: 4, config: 1 }, distance: { value: 3 } },
              gone: { lbfactor: { value: 4, config: 1 } },
              n2: { lbfactor: { value: 7, config: 9 }, route: { value: 'n3', config: 'node2.blue' } },
              n3: { activation: { value: 'XXX', config: 'DIS' } },
            },
          },
          oldlb: { settings: { retries: { value: 5, config: 2 } }, members: {} },
        },
      }),
    );
    const { state, problems } = StateStore.load(path);
    expect(problems).toEqual(['lb: unknown field \'bogus\'; ignored', 'lb/n1.distance: expected {"value", "config"}; ignored']);
    const fresh = buildBalancers().balancers;
    const logger = quietLogger();
    const applied = applyState(state, fresh, logger);
    expect(applied).toEqual([
      "state file: member 'gone' of balancer 'lb' is not configured any more; its saved changes are ignored",
      'state file: lb/n2.lbfactor was changed in the workers file since it was set live; keeping the workers file value',
      "state file: lb/n2.route 'n3' is already the route of another member; ignored",
      'state file: lb/n3.activation has an invalid value "XXX" (unknown activation); ignored',
      "state file: balancer 'oldlb' is not configured any more; its saved changes are ignored",
    ]);
    const b = fresh.get('lb')!;
    expect(b.lb.retries).toBe(5);
    expect(b.members.map((m) => m.lbfactor)).toEqual([4, 2, 1]);
    expect(b.members[1].route).toBe('node2.blue');
    expect(logger.lines.filter((l) => l.msg === 'state file')).toHaveLength(5);
  });
});
