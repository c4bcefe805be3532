/** Access control over real HTTP: read_only, Basic-auth users, loopback-only changes, cross-site refusal. */
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword, parseCredentials, type Credentials } from '../../src/status/credentials.js';
import { parseProps, startHarness, type Harness } from './harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const result = (body: string) => {
  const p = parseProps(body);
  return { type: p.get('worker.result.type'), message: p.get('worker.result.message') };
};
const DENIED = { type: 'ERROR', message: 'Access denied.' };
const OK = { type: 'OK', message: 'Action finished' };

/** Low scrypt cost keeps the tests quick; the format and checks are the same. */
async function credentials(): Promise<Credentials> {
  const lines = [`admin:${await hashPassword('s3cret', 1024)}`, `bob:${await hashPassword('hunter2', 1024)}`];
  return parseCredentials(`# users\n${lines.join('\n')}\n`, 'test-credentials');
}

describe('read_only', () => {
  it('refuses every change with mod_jk\'s message, allows reads, hides change links', async () => {
    h = await startHarness({ statusOverrides: { readOnly: true } });
    for (const q of ['cmd=update&w=lb&sw=n1&vwd=4', 'cmd=reset&w=lb', 'cmd=recover&w=lb&sw=n1', 'cmd=edit&w=lb']) {
      expect(result((await h.get(`${q}&mime=prop`)).body)).toEqual({ type: 'ERROR', message: 'This command is not allowed in read only mode.' });
    }
    expect(h.balancers.get('lb')!.members[0].distance).toBe(0);
    expect(result((await h.get('mime=prop')).body)).toEqual(OK);
    const html = (await h.get('')).body;
    expect(html).toContain('(read only)</h1>');
    expect(html).not.toContain('cmd=edit');
    expect(html).not.toContain('Read/Write');
  });

  it('opt=32 makes one request read-only', async () => {
    h = await startHarness();
    expect(result((await h.get('cmd=update&w=lb&sw=n1&vwd=4&opt=32&mime=prop')).body).message).toBe('This command is not allowed in read only mode.');
    expect(h.balancers.get('lb')!.members[0].distance).toBe(0);
  });
});

describe('user list with Basic authentication', () => {
  it('needs an allowed, correctly authenticated user for every request', async () => {
    h = await startHarness({ credentials: await credentials(), statusOverrides: { users: ['admin'] } });
    const none = await h.get('mime=prop');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="jkstatus"');
    expect(result(none.body)).toEqual(DENIED);
    const wrong = await h.get('mime=prop', basic('admin', 'nope'));
    expect(wrong.status).toBe(401);
    const otherUser = await h.get('mime=prop', basic('bob', 'hunter2'));
    expect(otherUser.status).toBe(200);
    expect(result(otherUser.body)).toEqual(DENIED);
    const admin = await h.get('mime=prop', basic('admin', 's3cret'));
    expect(result(admin.body)).toEqual(OK);
    const change = await h.get('cmd=update&w=lb&sw=n1&vwd=4&mime=prop', basic('admin', 's3cret'));
    expect(result(change.body)).toEqual(OK);
    expect(h.logs.find((l) => l.msg === 'status change')?.obj).toMatchObject({ user: 'admin', field: 'distance', old: 0, new: 4 });
    expect(JSON.stringify(h.logs)).not.toMatch(/s3cret|hunter2|nope/);
  });

  it('compares user names case-insensitively only when configured', async () => {
    h = await startHarness({ credentials: await credentials(), statusOverrides: { users: ['ADMIN'] } });
    expect(result((await h.get('mime=prop', basic('admin', 's3cret'))).body)).toEqual(DENIED);
    await h.close();
    h = await startHarness({ credentials: await credentials(), statusOverrides: { users: ['ADMIN'], userCaseInsensitive: true } });
    expect(result((await h.get('mime=prop', basic('admin', 's3cret'))).body)).toEqual(OK);
  });

  it('denies everything when users are configured but no credentials file is', async () => {
    h = await startHarness({ statusOverrides: { users: ['admin'] } });
    expect(result((await h.get('mime=prop', basic('admin', 's3cret'))).body)).toEqual(DENIED);
  });
});

describe('credentials without a user list', () => {
  it('reads need nothing; changes need valid credentials, from any address', async () => {
    h = await startHarness({ credentials: await credentials(), remoteAddress: () => '203.0.113.5' });
    expect(result((await h.get('mime=prop')).body)).toEqual(OK);
    const anonymous = await h.get('cmd=update&w=lb&sw=n1&vwd=4&mime=prop');
    expect(anonymous.status).toBe(401);
    expect(result(anonymous.body)).toEqual(DENIED);
    const wrong = await h.get('cmd=update&w=lb&sw=n1&vwd=4&mime=prop', basic('bob', 's3cret'));
    expect(wrong.status).toBe(401);
    expect(h.balancers.get('lb')!.members[0].distance).toBe(0);
    const bob = await h.get('cmd=update&w=lb&sw=n1&vwd=4&mime=prop', basic('bob', 'hunter2'));
    expect(result(bob.body)).toEqual(OK);
    expect(h.balancers.get('lb')!.members[0].distance).toBe(4);
    expect(h.logs.find((l) => l.msg === 'status change')?.obj).toMatchObject({ user: 'bob', remote: '203.0.113.5' });
  });
});

describe('loopback-only changes without credentials', () => {
  it('refuses changes and edit forms from a non-loopback client (address supplied by the data path)', async () => {
    h = await startHarness({ remoteAddress: () => '198.51.100.7' });
    for (const q of ['cmd=update&w=lb&sw=n1&vwd=4', 'cmd=reset&w=lb', 'cmd=recover&w=lb&sw=n1', 'cmd=edit&w=lb']) {
      expect(result((await h.get(`${q}&mime=prop`)).body)).toEqual(DENIED);
    }
    expect(h.balancers.get('lb')!.members[0].distance).toBe(0);
    expect(result((await h.get('mime=prop')).body)).toEqual(OK);
    expect(h.logs.some((l) => l.msg === 'status access denied' && l.obj.remote === '198.51.100.7')).toBe(true);
  });

  for (const addr of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
    it(`allows ${addr}`, async () => {
      h = await startHarness({ remoteAddress: () => addr });
      expect(result((await h.get('cmd=update&w=lb&sw=n1&vwd=4&mime=prop')).body)).toEqual(OK);
    });
  }
  for (const addr of ['::ffff:10.0.0.1', '10.127.0.1', 'fe80::1', '']) {
    it(`refuses ${addr || 'an unknown address'}`, async () => {
      h = await startHarness({ remoteAddress: () => addr || undefined });
      expect(result((await h.get('cmd=update&w=lb&sw=n1&vwd=4&mime=prop')).body)).toEqual(DENIED);
    });
  }

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  it.skipIf(!external)('refuses a change arriving over a real non-loopback socket', async () => {
    h = await startHarness({ host: external });
    expect(result((await h.get('cmd=update&w=lb&sw=n1&vwd=4&mime=prop')).body)).toEqual(DENIED);
    expect(result((await h.get('mime=prop')).body)).toEqual(OK);
    expect(h.balancers.get('lb')!.members[0].distance).toBe(0);
  });
});

describe('cross-site refusal', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }, false],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }, false],
    ['Origin of another site', { origin: 'http://evil.example' }, false],
    ['Origin: null', { origin: 'null' }, false],
    ['Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin' }, true],
    ['Sec-Fetch-Site: none (typed URL)', { 'sec-fetch-site': 'none' }, true],
    ['no browser headers (curl)', {}, true],
  ];
  for (const [what, headers, allowed] of cases) {
    it(`${what} → ${allowed ? 'allowed' : 'refused'}`, async () => {
      h = await startHarness();
      const r = await h.get('cmd=update&w=lb&sw=n1&vwa=d&mime=prop', headers);
      expect(result(r.body)).toEqual(allowed ? OK : DENIED);
      expect(h.balancers.get('lb')!.members[0].activation).toBe(allowed ? 1 : 0);
    });
  }

  it('accepts the request\'s own origin', async () => {
    h = await startHarness();
    const origin = new URL(h.base).origin;
    expect(result((await h.get('cmd=reset&w=lb&mime=prop', { origin })).body)).toEqual(OK);
    // Reads are not affected.
    expect(result((await h.get('mime=prop', { 'sec-fetch-site': 'cross-site' })).body)).toEqual(OK);
  });
});
