/**
 * Range checks of update values (docs/status-worker.md#update-codes, the attribute table): a
 * well-formed value outside the range mod_jk documents is refused with type=ERROR — nothing
 * changed, nothing persisted — and a state file holding such a value (written by an older version)
 * is reported and not restored.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LB_ATTRIBUTES, MEMBER_ATTRIBUTES } from '../../src/routing/attributes.js';
import { StateStore } from '../../src/status/persist.js';
import { startFakeTomcat } from '../helpers/fake-tomcat.js';
import { parseProps, startHarness, type Harness } from './harness.js';
import { farmWithStatus, startProductWith, STATUS_MOUNTS } from './product.js';

let dir: string;
let statePath: string;
let h: Harness;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jkstatus-ranges-'));
  statePath = join(dir, 'state.json');
  h = await startHarness({ store: new StateStore(statePath), resolveHost: async () => true });
});
afterEach(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every settable value as the API lists it (prop), to compare before and after. */
async function listed(): Promise<string> {
  const p = parseProps((await h.get('mime=prop')).body);
  const keys = [...LB_ATTRIBUTES.map((a) => `worker.lb.${a.key}`)];
  for (const m of ['n1', 'n2', 'n3']) for (const a of MEMBER_ATTRIBUTES) keys.push(`worker.${m}.${a.key}`);
  return JSON.stringify(keys.filter((k) => p.has(k)).map((k) => [k, p.get(k)]));
}

async function result(query: string) {
  const p = parseProps((await h.get(`${query}&mime=prop`)).body);
  return { type: p.get('worker.result.type'), message: p.get('worker.result.message') };
}

const FAIL = 'Update failed (at least partially)';

describe('out-of-range update values are refused', () => {
  const member: [string, string, string][] = [
    ['vwf=0', 'lbfactor', 'must be 1 or more'],
    ['vwd=-1', 'distance', 'must be 0 or more'],
    ['vaprt=99999', 'port', 'must be 1–65535'],
    ['vaprt=65536', 'port', 'must be 1–65535'],
    ['vaprt=0', 'port', 'must be 1–65535'],
    ['vwn=', 'route', 'must not be empty'],
    ['vahst=', 'host', 'must not be empty'],
    ['vacpt=-1', 'connection_pool_timeout', 'must be 0 or more'],
    ['vapng=-1', 'ping_timeout', 'must be 0 or more'],
    ['vact=-1', 'connect_timeout', 'must be 0 or more'],
    ['vapt=-1', 'prepost_timeout', 'must be 0 or more'],
    ['vart=-1', 'reply_timeout', 'must be 0 or more'],
    ['var=0', 'retries', 'must be 1 or more'],
    ['vari=0', 'retry_interval', 'must be 1 or more'],
    ['vacpi=-1', 'connection_ping_interval', 'must be 1 or more'],
    ['varo=-1', 'recovery_options', 'must be 0 or more'],
    ['vabl=-1', 'busy_limit', 'must be 0 or more'],
    ['vamps=70000', 'max_packet_size', 'must be 8192–65536'],
    ['vamps=100', 'max_packet_size', 'must be 8192–65536'],
  ];
  for (const [q, key, why] of member) {
    it(`member ${q}`, async () => {
      const before = await listed();
      const value = q.slice(q.indexOf('=') + 1);
      // Together with a valid change: the whole request is refused.
      expect(await result(`cmd=update&w=lb&sw=n1&vwr=n2&${q}`)).toEqual({
        type: 'ERROR',
        message: `${FAIL}: invalid value '${value}' for ${key} of sub worker 'n1' (${why}).`,
      });
      expect(await listed()).toBe(before);
      expect(existsSync(statePath)).toBe(false);
      expect(h.logs.filter((l) => l.msg === 'status change')).toEqual([]);
    });
  }

  const lb: [string, string, string][] = [
    ['vlr=0', 'retries', 'must be 1 or more'],
    ['vlri=0', 'retry_interval', 'must be 1 or more'],
    ['vlt=0', 'recover_time', 'must be 1 or more'],
    ['vlee=0', 'error_escalation_time', 'must be 1 or more'],
    ['vlx=-1', 'max_reply_timeouts', 'must be 0 or more'],
  ];
  for (const [q, key, why] of lb) {
    it(`balancer ${q}`, async () => {
      const before = await listed();
      expect(await result(`cmd=update&w=lb&vlm=b&${q}`)).toEqual({
        type: 'ERROR',
        message: `${FAIL}: invalid value '${q.slice(q.indexOf('=') + 1)}' for ${key} of worker 'lb' (${why}).`,
      });
      expect(await listed()).toBe(before);
      expect(existsSync(statePath)).toBe(false);
    });
  }

  it('in the all-members form and in wildcard updates too', async () => {
    const before = await listed();
    expect(await result('cmd=update&w=lb&att=vwf&val0=2&val1=0')).toEqual({
      type: 'ERROR',
      message: `${FAIL}: invalid value '0' for lbfactor of sub worker 'n2' (must be 1 or more).`,
    });
    expect(await result('cmd=update&w=lb&sw=n*&vwd=-2')).toEqual({
      type: 'ERROR',
      message: `${FAIL}: invalid value '-2' for distance of sub worker 'n1' (must be 0 or more). Aborting further wildcard updates.`,
    });
    expect(await listed()).toBe(before);
    expect(existsSync(statePath)).toBe(false);
  });

  it('the edges of each range are accepted and persisted', async () => {
    expect(await result('cmd=update&w=lb&sw=n1&vaprt=1&vwf=1&vwd=0&vamps=65536')).toEqual({ type: 'OK', message: 'Action finished' });
    expect(await result('cmd=update&w=lb&sw=n2&vaprt=65535&var=1&vari=1&vacpi=1')).toEqual({ type: 'OK', message: 'Action finished' });
    const p = parseProps((await h.get('mime=prop')).body);
    expect([p.get('worker.n1.port'), p.get('worker.n1.max_packet_size'), p.get('worker.n2.port')]).toEqual(['1', '65536', '65535']);
    expect(existsSync(statePath)).toBe(true);
  });
});

describe('a state file with out-of-range values (from an older version)', () => {
  it('is reported at start and those values are not restored; the valid ones are', async () => {
    const n1 = await startFakeTomcat('n1');
    const n2 = await startFakeTomcat('n2');
    const product = await startProductWith({
      workers: farmWithStatus({ n1: n1.port, n2: n2.port }),
      mounts: STATUS_MOUNTS,
      state: {
        version: 1,
        balancers: {
          lb: {
            settings: { recover_time: { value: 0, config: 60 } },
            members: {
              n1: { port: { value: 99999, config: n1.port }, route: { value: '', config: 'n1' }, distance: { value: 2, config: 0 } },
              n2: { max_packet_size: { value: 100, config: 8192 }, lbfactor: { value: 0, config: 1 } },
            },
          },
        },
      },
    });
    try {
      const reported = product.logs.filter((l) => l.msg === 'state file').map((l) => l.problem);
      expect(reported).toEqual([
        'state file: lb.recover_time has an invalid value 0 (must be 1 or more); ignored',
        'state file: lb/n1.route has an invalid value "" (must not be empty); ignored',
        'state file: lb/n1.port has an invalid value 99999 (must be 1–65535); ignored',
        'state file: lb/n2.lbfactor has an invalid value 0 (must be 1 or more); ignored',
        'state file: lb/n2.max_packet_size has an invalid value 100 (not a value the status worker sets); ignored',
      ]);
      // On the wire: the workers-file values, except the one valid saved change …
      const p = parseProps((await product.get('/jkstatus?mime=prop')).body);
      expect([p.get('worker.lb.recover_time'), p.get('worker.n1.port'), p.get('worker.n1.route'), p.get('worker.n1.distance')]).toEqual(['60', String(n1.port), 'n1', '2']);
      expect([p.get('worker.n2.lbfactor'), p.get('worker.n2.max_packet_size')]).toEqual(['1', '8192']);
      // … and n1 still serves its sticky requests.
      const r = await product.get('/app/x', { cookie: 'JSESSIONID=abc.n1' });
      expect(r.status).toBe(200);
      expect(n1.served).toBe(1);
    } finally {
      await product.close();
      await n1.close();
      await n2.close();
    }
  });
});
