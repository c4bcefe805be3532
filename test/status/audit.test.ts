/** The audit trail (issue 17): recorded by AdminState.commit, bounded, persisted, shown in mime=json and on the HTML page. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AdminState, AUDIT_LIMIT, type AuditEntry } from '../../src/status/admin.js';
import { hashPassword, parseCredentials } from '../../src/status/credentials.js';
import { StateStore, applyState } from '../../src/status/persist.js';
import { buildBalancers, startHarness, type Harness } from './harness.js';
import { STATUS_MOUNTS, farmWithStatus, startProductWith } from './product.js';

const quiet = { info: () => undefined, warn: () => undefined };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const dirs: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'jkb-audit-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function auditOf(harness: Harness, headers: Record<string, string> = {}): Promise<AuditEntry[]> {
  const r = await harness.get('cmd=list&mime=json', headers);
  expect(r.status).toBe(200);
  return (JSON.parse(r.body) as { audit: AuditEntry[] }).audit;
}

describe('audit trail over the status worker', () => {
  it('a cmd=update shows in mime=json with user, address, field, old and new', async () => {
    const credentials = parseCredentials(`admin:${await hashPassword('s3cret', 1024)}\n`, 'test-credentials');
    h = await startHarness({ credentials });
    expect(await auditOf(h)).toEqual([]);
    const before = Date.now();
    const r = await h.get('cmd=update&w=lb&sw=n2&vwa=d&mime=json', basic('admin', 's3cret'));
    expect(JSON.parse(r.body).result.type).toBe('OK');
    const audit = await auditOf(h);
    expect(audit).toHaveLength(1);
    const [e] = audit;
    expect(e).toMatchObject({ source: 'status', user: 'admin', remote: '127.0.0.1', lb: 'lb', member: 'n2', field: 'activation', old: 'ACT', new: 'DIS' });
    expect(e.time).toBeGreaterThanOrEqual(before);
    expect(e.time).toBeLessThanOrEqual(Date.now());
  });

  it('reset and recover are entries too; mod_jk formats do not change', async () => {
    h = await startHarness();
    await h.get('cmd=reset&w=lb&sw=n1');
    const audit = await auditOf(h);
    expect(audit).toEqual([expect.objectContaining({ source: 'status', user: null, lb: 'lb', member: 'n1', field: 'reset', old: null, new: null })]);
    const prop = await h.get('cmd=list&mime=prop');
    expect(prop.body).not.toMatch(/audit/i);
    const xml = await h.get('cmd=list&mime=xml');
    expect(xml.body).not.toMatch(/audit/i);
  });

  it('the HTML page lists recent changes newest first, escaped', async () => {
    h = await startHarness();
    const hostile = '<script>alert(1)</script>&"';
    // Two live changes: the newer is listed first.
    expect((await h.get('cmd=update&w=lb&sw=n1&vwc=first')).status).toBe(200);
    expect((await h.get(`cmd=update&w=lb&sw=n1&vwc=${encodeURIComponent('x')}`)).status).toBe(200);
    const page = await h.get('cmd=list');
    expect(page.body).toContain('<h2 id="recent-changes">Recent changes</h2>');
    const list = page.body.slice(page.body.indexOf('id="recent-changes"'));
    expect(list.indexOf('&rarr; x<')).toBeLessThan(list.indexOf('&rarr; first<'));
    expect(list.indexOf('&rarr; x<')).toBeGreaterThan(0);
    // Now a hostile user name and value, as a saved trail could carry them.
    const dir = tmp();
    const store = new StateStore(join(dir, 'state.json'));
    const entry: AuditEntry = { time: Date.now(), source: 'status', user: hostile, remote: hostile, lb: 'lb', member: hostile, field: 'domain', old: hostile, new: hostile };
    store.recordAudit([entry]);
    await h.close();
    h = await startHarness({ store });
    const body = (await h.get('cmd=list')).body;
    expect(body).not.toContain('<script>alert');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;');
  });

  it('the page shows at most 20 entries', async () => {
    h = await startHarness();
    for (let i = 0; i < 25; i++) await h.get(`cmd=update&w=lb&sw=n1&vwc=d${i}`);
    expect(await auditOf(h)).toHaveLength(25);
    const body = (await h.get('cmd=list')).body;
    const list = body.slice(body.indexOf('id="recent-changes"'));
    expect(list.match(/<li>/g)).toHaveLength(20);
    expect(list).toContain('&rarr; d24<');
    expect(list).not.toContain('&rarr; d4<');
  });
});

describe('AdminState audit', () => {
  it('records the drain policy as source drain', async () => {
    const { balancers } = buildBalancers();
    const admin = new AdminState(() => balancers, null, quiet);
    await admin.commit([{ kind: 'set', lb: 'lb', member: 'n3', key: 'activation', value: 'STP' }], { source: 'drain', user: null, remote: undefined });
    expect(admin.audit).toEqual([expect.objectContaining({ source: 'drain', user: null, remote: null, lb: 'lb', member: 'n3', field: 'activation', old: 'DIS', new: 'STP' })]);
  });

  it(`keeps the last ${AUDIT_LIMIT} entries, oldest dropped`, async () => {
    expect(AUDIT_LIMIT).toBe(500);
    const { balancers } = buildBalancers();
    const admin = new AdminState(() => balancers, null, quiet);
    const actor = { source: 'status', user: 'u', remote: '10.0.0.1' } as const;
    for (let i = 0; i <= AUDIT_LIMIT; i++) {
      await admin.commit([{ kind: 'set', lb: 'lb', member: 'n1', key: 'distance', value: (i % 2) + 1 }], actor);
    }
    expect(admin.audit).toHaveLength(AUDIT_LIMIT);
    // 501 changes: 0→1 (first, dropped), then alternating; the first kept is change #1 (1 → 2).
    expect(admin.audit[0]).toMatchObject({ old: 1, new: 2 });
    expect(admin.audit.at(-1)).toMatchObject({ old: 2, new: 1 });
  });

  it('persists through the state file and is loaded back at start', async () => {
    const path = join(tmp(), 'state.json');
    const { balancers } = buildBalancers();
    const admin = new AdminState(() => balancers, new StateStore(path), quiet);
    await admin.commit([{ kind: 'set', lb: 'lb', member: 'n2', key: 'activation', value: 'DIS' }], { source: 'status', user: 'admin', remote: '::1' });
    await admin.commit([{ kind: 'reset', lb: 'lb', member: null }], { source: 'status', user: null, remote: '127.0.0.1' });
    const saved = admin.audit;
    expect(saved).toHaveLength(2);
    const loaded = StateStore.load(path);
    expect(loaded.problems).toEqual([]);
    expect(loaded.state.audit).toEqual(saved);
    const again = new AdminState(() => buildBalancers().balancers, new StateStore(path, loaded.state), quiet);
    expect(again.audit).toEqual(saved);
  });

  it('an old state file without audit loads; a malformed entry is dropped and reported', () => {
    const dir = tmp();
    const old = join(dir, 'old.json');
    writeFileSync(old, JSON.stringify({ version: 1, balancers: {} }));
    expect(StateStore.load(old)).toEqual({ state: { version: 1, balancers: {} }, problems: [] });
    const bad = join(dir, 'bad.json');
    const good = { time: 1, source: 'drain', user: null, remote: null, lb: 'lb', member: 'n1', field: 'activation', old: 'ACT', new: 'STP' };
    // A change another instance made (--state-redis) keeps where it came from.
    const shared = { ...good, source: 'redis', instance: 'lb2.example:8080' };
    writeFileSync(bad, JSON.stringify({ version: 1, balancers: {}, audit: [good, { ...good, source: 'nobody' }, 'x', { ...good, old: {} }, shared, { ...shared, instance: 7 }] }));
    const r = StateStore.load(bad);
    expect(r.state.audit).toEqual([good, shared]);
    expect(r.problems).toEqual(['audit[1]: not an audit entry; ignored', 'audit[2]: not an audit entry; ignored', 'audit[3]: not an audit entry; ignored', 'audit[5]: not an audit entry; ignored']);
  });

  it('restores from the state file become entries with source restore', async () => {
    const path = join(tmp(), 'state.json');
    const first = buildBalancers().balancers;
    const admin = new AdminState(() => first, new StateStore(path), quiet);
    await admin.commit([{ kind: 'set', lb: 'lb', member: 'n2', key: 'activation', value: 'DIS' }], { source: 'status', user: null, remote: '127.0.0.1' });
    const loaded = StateStore.load(path).state;
    const fresh = buildBalancers().balancers;
    const next = new AdminState(() => fresh, new StateStore(path, loaded), quiet);
    applyState(loaded, fresh, quiet, (r) => next.addAudit([{ time: 5, source: 'restore', user: null, remote: null, ...r }]));
    expect(next.audit.at(-1)).toEqual({ time: 5, source: 'restore', user: null, remote: null, lb: 'lb', member: 'n2', field: 'activation', old: 'ACT', new: 'DIS' });
    expect(JSON.parse(readFileSync(path, 'utf8')).audit).toHaveLength(1);
  });
});

describe('audit of a reload', () => {
  it('settings the new files changed are entries with source reload, saved; live changes kept across it are not', async () => {
    const ports = { n1: 8081, n2: 8082 };
    const product = await startProductWith({ workers: farmWithStatus(ports), mounts: STATUS_MOUNTS });
    try {
      // A live change of n1's factor: the reload keeps it, so it is no reload entry.
      expect(JSON.parse((await product.get('/jkstatus?cmd=update&mime=json&w=lb&sw=n1&vwf=3')).body).result.type).toBe('OK');
      writeFileSync(join(product.dir, 'workers.properties'), farmWithStatus(ports) + 'worker.n2.activation=DIS\nworker.n2.distance=2\nworker.n1.lbfactor=5\n');
      expect(product.reload()).toBe(true);
      const audit = await (async () => {
        for (let i = 0; i < 50; i++) {
          const trail = (JSON.parse((await product.get('/jkstatus?cmd=list&mime=json')).body) as { audit: AuditEntry[] }).audit;
          if (trail.length > 1) return trail;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error('no reload entries');
      })();
      expect(audit.slice(1).map(({ time: _t, ...e }) => e)).toEqual([
        { source: 'reload', user: null, remote: null, lb: 'lb', member: 'n2', field: 'activation', old: 'ACT', new: 'DIS' },
        { source: 'reload', user: null, remote: null, lb: 'lb', member: 'n2', field: 'distance', old: 0, new: 2 },
      ]);
      // Saved with the state file (a restart shows them).
      const saved = () => (JSON.parse(readFileSync(join(product.dir, 'state.json'), 'utf8')) as { audit: AuditEntry[] }).audit.map((e) => e.source);
      for (let i = 0; i < 50 && saved().length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(saved()).toEqual(['status', 'reload', 'reload']);
    } finally {
      await product.close();
    }
  });
});
