/** Failed Basic-auth attempts are limited per client address: 429 + Retry-After, no scrypt, other addresses unaffected. */
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFailureLimit, MAX_FAILURES, WINDOW_MS } from '../../src/status/auth-limit.js';
import { hashPassword, parseCredentials, type Credentials } from '../../src/status/credentials.js';
import { parseProps, startHarness, type Harness } from './harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** Real credentials (cheap scrypt) that count how often a password was actually checked. */
async function countingCredentials(): Promise<{ credentials: Credentials; checks: () => number }> {
  const real = parseCredentials(`admin:${await hashPassword('s3cret', 1024)}\n`, 'test-credentials');
  let n = 0;
  return {
    credentials: {
      users: real.users,
      verify: (user, password) => {
        n++;
        return real.verify(user, password);
      },
    },
    checks: () => n,
  };
}

/** The client address comes from a test header (the data path's remoteAddress hook). */
const from = (address: string, headers: Record<string, string> = {}) => ({ 'x-test-client': address, ...headers });
const DRAIN = 'cmd=update&w=lb&sw=n1&vwd=2&mime=prop';

async function harness(credentials: Credentials, users: string[] = []) {
  return startHarness({ credentials, statusOverrides: { users }, remoteAddress: (req) => req.headers['x-test-client'] as string });
}

describe('failed authentication, per client address', () => {
  it(`after ${MAX_FAILURES} failures: 429 with Retry-After and no password check, even for the right password`, async () => {
    const c = await countingCredentials();
    h = await harness(c.credentials);
    for (let i = 0; i < MAX_FAILURES; i++) expect((await h.get(DRAIN, from('203.0.113.1', basic('admin', `wrong${i}`)))).status).toBe(401);
    expect(c.checks()).toBe(MAX_FAILURES);
    for (const password of ['wrong', 's3cret']) {
      const r = await h.get(DRAIN, from('203.0.113.1', basic('admin', password)));
      expect(r.status).toBe(429);
      const wait = Number(r.headers.get('retry-after'));
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(WINDOW_MS / 1000);
      expect(parseProps(r.body).get('worker.result.type')).toBe('ERROR');
      expect(parseProps(r.body).get('worker.result.message')).toBe('Too many failed authentication attempts from this address; try again later.');
    }
    expect(c.checks()).toBe(MAX_FAILURES);
    expect(h.balancers.get('lb')!.members[0].distance).toBe(0);
    expect(h.logs.filter((l) => l.msg?.startsWith('status authentication refused'))).toHaveLength(2);
    expect(JSON.stringify(h.logs)).not.toContain('s3cret');
  });

  it('a lockout never blocks another address', async () => {
    const c = await countingCredentials();
    h = await harness(c.credentials);
    for (let i = 0; i <= MAX_FAILURES; i++) await h.get(DRAIN, from('203.0.113.1', basic('admin', 'wrong')));
    expect((await h.get(DRAIN, from('203.0.113.1', basic('admin', 's3cret')))).status).toBe(429);
    const other = await h.get(DRAIN, from('203.0.113.2', basic('admin', 's3cret')));
    expect(other.status).toBe(200);
    expect(parseProps(other.body).get('worker.result.type')).toBe('OK');
    expect((await h.get(DRAIN, from('2001:db8::2', basic('admin', 'wrong')))).status).toBe(401);
  });

  it('counts parallel attempts before their checks finish', async () => {
    const c = await countingCredentials();
    h = await harness(c.credentials);
    const replies = await Promise.all(Array.from({ length: 3 * MAX_FAILURES }, () => h!.get(DRAIN, from('203.0.113.9', basic('admin', 'wrong')))));
    expect(replies.filter((r) => r.status === 401)).toHaveLength(MAX_FAILURES);
    expect(replies.filter((r) => r.status === 429)).toHaveLength(2 * MAX_FAILURES);
    expect(c.checks()).toBe(MAX_FAILURES);
  });

  it('a successful login starts the count again', async () => {
    const c = await countingCredentials();
    h = await harness(c.credentials);
    for (let i = 0; i < MAX_FAILURES - 1; i++) await h.get(DRAIN, from('203.0.113.1', basic('admin', 'wrong')));
    expect((await h.get(DRAIN, from('203.0.113.1', basic('admin', 's3cret')))).status).toBe(200);
    for (let i = 0; i < MAX_FAILURES; i++) expect((await h.get(DRAIN, from('203.0.113.1', basic('admin', 'wrong')))).status).toBe(401);
    expect((await h.get(DRAIN, from('203.0.113.1', basic('admin', 'wrong')))).status).toBe(429);
  });

  it('applies to reads too when a user list makes them authenticate', async () => {
    const c = await countingCredentials();
    h = await harness(c.credentials, ['admin']);
    for (let i = 0; i < MAX_FAILURES; i++) expect((await h.get('mime=prop', from('198.51.100.4', basic('admin', 'wrong')))).status).toBe(401);
    expect((await h.get('mime=prop', from('198.51.100.4', basic('admin', 's3cret')))).status).toBe(429);
    // Asking without credentials costs no check and is answered with the usual challenge.
    expect((await h.get('mime=prop', from('198.51.100.4'))).status).toBe(401);
    expect(c.checks()).toBe(MAX_FAILURES);
  });
});

describe('AuthFailureLimit', () => {
  it('opens again when the window ends, and says how long to wait until then', () => {
    let now = 1_000_000;
    const limit = new AuthFailureLimit(() => now);
    for (let i = 0; i < MAX_FAILURES; i++) expect(limit.charge('a')).toBe(0);
    expect(limit.charge('a')).toBe(WINDOW_MS / 1000);
    now += WINDOW_MS - 1500;
    expect(limit.charge('a')).toBe(2);
    now += 1500;
    expect(limit.charge('a')).toBe(0);
  });

  it('keeps at most its table size of addresses, forgetting the oldest window first', () => {
    let now = 0;
    const limit = new AuthFailureLimit(() => now, 1, WINDOW_MS, 3);
    for (const a of ['a', 'b', 'c']) {
      now++;
      limit.charge(a);
    }
    expect(['a', 'b', 'c'].map((a) => limit.charge(a) > 0)).toEqual([true, true, true]);
    limit.charge('d'); // the table is full: 'a', the oldest, is forgotten
    expect(['c', 'd', 'a'].map((a) => limit.charge(a) > 0)).toEqual([true, true, false]);
  });
});
