/** cmd=update / reset / recover over real HTTP: every attribute code, side effects, errors and hostile input. */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Balancer } from '../../src/routing/balancer.js';
import { State } from '../../src/routing/types.js';
import { LB_ATTRIBUTES, MEMBER_ATTRIBUTES } from '../../src/routing/attributes.js';
import { wildcardMatcher } from '../../src/status/update.js';
import { parseProps, startHarness, type Harness } from './harness.js';

let h: Harness;
let b: Balancer;
beforeEach(async () => {
  h = await startHarness({ resolveHost: async (host) => host !== 'no-such-host.invalid' });
  b = h.balancers.get('lb')!;
});
afterEach(() => h.close());

/** Every settable value plus the lb_value/lb_mult side-effect fields. */
function snapshot(bal: Balancer) {
  return JSON.stringify({
    lb: LB_ATTRIBUTES.map((a) => a.current(bal.lb)),
    members: bal.members.map((m) => [...MEMBER_ATTRIBUTES.map((a) => a.current(m)), m.lbValue, m.lbMult, m.state]),
  });
}

async function result(query: string): Promise<{ type?: string; message?: string }> {
  const p = parseProps((await h.get(`${query}&mime=prop`)).body);
  return { type: p.get('worker.result.type'), message: p.get('worker.result.message') };
}
const OK = { type: 'OK', message: 'Action finished' };

describe('member attribute codes (docs/status-worker.md#update-codes)', () => {
  const cases: [string, string, string, unknown][] = [
    ['vwa', 'd', 'activation', 'DIS'],
    ['vwa', '2', 'activation', 'STP'],
    ['vwf', '3', 'lbfactor', 3],
    ['vwn', 'n1.red', 'route', 'n1.red'],
    ['vwr', 'n2', 'redirect', 'n2'],
    ['vwc', 'blue', 'domain', 'blue'],
    ['vwd', '2', 'distance', 2],
    ['vahst', 'localhost', 'host', 'localhost'],
    ['vaprt', '9009', 'port', 9009],
    ['vacpt', '30', 'connection_pool_timeout', 30],
    ['vapng', '5000', 'ping_timeout', 5000],
    ['vact', '1000', 'connect_timeout', 1000],
    ['vapt', '2000', 'prepost_timeout', 2000],
    ['vart', '60000', 'reply_timeout', 60000],
    ['var', '3', 'retries', 3],
    ['vari', '250', 'retry_interval', 250],
    ['vacpi', '10', 'connection_ping_interval', 10],
    ['varo', '3', 'recovery_options', 3],
    ['vabl', '10', 'busy_limit', 10],
    ['vamps', '9000', 'max_packet_size', 9216],
  ];
  for (const [code, raw, key, expected] of cases) {
    it(`${code}=${raw} sets ${key}`, async () => {
      const attr = MEMBER_ATTRIBUTES.find((a) => a.key === key)!;
      expect(await result(`cmd=update&w=lb&sw=n1&${code}=${encodeURIComponent(raw)}`)).toEqual(OK);
      expect(attr.current(b.members[0])).toBe(expected);
      // Other members untouched.
      expect(attr.current(b.members[1])).toBe(attr.configured(b.members[1]));
      const log = h.logs.find((l) => l.msg === 'status change');
      expect(log?.obj).toMatchObject({ lb: 'lb', member: 'n1', field: key, new: expected, remote: '127.0.0.1' });
      // list shows it as an override.
      const p = parseProps((await h.get('mime=prop')).body);
      expect(p.get('worker.n1.overrides')?.split(',')).toContain(key);
    });
  }

  it('activation change resets every lb_value; lbfactor recomputes lb_mult', async () => {
    for (const m of b.members) m.lbValue = 7;
    expect(await result('cmd=update&w=lb&sw=n2&vwa=d')).toEqual(OK);
    expect(b.members.map((m) => m.lbValue)).toEqual([0, 0, 0]);
    expect(await result('cmd=update&w=lb&sw=n1&vwf=3')).toEqual(OK);
    // factors 3, 2, 1 → lcm 6 → mult 2, 3, 6
    expect(b.members.map((m) => m.lbMult)).toEqual([2, 3, 6]);
  });

  it('a new route derives an empty domain, and that is logged as a change too', async () => {
    expect(await result('cmd=update&w=lb&sw=n1&vwn=east.n1')).toEqual(OK);
    expect(b.members[0].domain).toBe('east');
    expect(h.logs.filter((l) => l.msg === 'status change').map((l) => l.obj.field)).toEqual(['route', 'domain']);
  });

  it('skips values equal to the current ones, even outside the live range (a resubmitted form)', async () => {
    const before = snapshot(b);
    // n1 has connection_ping_interval 0 from the workers file, below the live minimum of 1.
    expect(b.members[0].connectionPingIntervalSec).toBe(0);
    for (const q of ['vwf=1', 'vwn=n1', 'vacpi=0', 'vamps=8000', 'vaprt=8009']) {
      expect(await result(`cmd=update&w=lb&sw=n1&${q}`)).toEqual(OK);
    }
    expect(snapshot(b)).toBe(before);
    expect(h.logs.filter((l) => l.msg === 'status change')).toEqual([]);
  });

  it('updates every member matching a wildcard', async () => {
    expect(await result('cmd=update&w=lb&sw=n*&vwd=5')).toEqual(OK);
    expect(b.members.map((m) => m.distance)).toEqual([5, 5, 5]);
    expect(await result('cmd=update&w=lb&sw=n%3F&vwd=6')).toEqual(OK);
    expect(b.members.map((m) => m.distance)).toEqual([6, 6, 6]);
    expect(await result('cmd=update&w=lb&sw=x*&vwd=1')).toEqual({ type: 'ERROR', message: 'could not find sub worker' });
    expect(await result('cmd=show&w=lb&sw=n*')).toEqual({ type: 'ERROR', message: 'wildcard not allowed in sub worker for this command' });
    expect(await result('cmd=reset&w=lb&sw=n*')).toEqual({ type: 'ERROR', message: 'wildcard not allowed in sub worker for this command' });
  });

  it('matches sw wildcards like jk_wildchar_match: * any run, ? one character, whole name, case-sensitive', () => {
    const cases: [string, string, boolean][] = [
      ['n*', 'n1', true], ['n?', 'n1', true], ['n?', 'n12', false], ['*1', 'node1', true], ['N*', 'n1', false],
      ['*', '', true], ['?', '', false], ['a*b*c', 'aXbYc', true], ['a*b*c', 'aXbY', false], ['*a', '*ba', true], ['n.1', 'nx1', false],
    ];
    for (const [pattern, name, expected] of cases) expect(wildcardMatcher(pattern)(name), `${pattern} ~ ${name}`).toBe(expected);
    // Same answers as the obvious regular expression, on patterns short enough for it.
    const reference = (pattern: string, name: string) =>
      new RegExp(`^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/, '\\$&'))).join('')}$`, 's').test(name);
    fc.assert(
      fc.property(fc.stringMatching(/^[ab*?.]{0,8}$/), fc.stringMatching(/^[ab*.]{0,10}$/), (pattern, name) => {
        expect(wildcardMatcher(pattern)(name)).toBe(reference(pattern, name));
      }),
    );
    // A backtracking RegExp never returns from this one (the request would block the whole balancer).
    expect(wildcardMatcher(`${'*'.repeat(40)}x`)('node1node1node1node1node1node1')).toBe(false);
  });

  it('refuses a route that another member already has (whole request, nothing applied)', async () => {
    const before = snapshot(b);
    expect(await result('cmd=update&w=lb&sw=n1&vwf=4&vwn=n3')).toEqual({
      type: 'ERROR',
      message: "Update failed (at least partially): new route 'n3' for sub worker 'n1' is already the route of sub worker 'n3'.",
    });
    expect(await result('cmd=update&w=lb&sw=n*&vwn=same')).toMatchObject({ type: 'ERROR' });
    expect(snapshot(b)).toBe(before);
  });

  it('refuses an unresolvable host', async () => {
    const before = snapshot(b);
    expect(await result('cmd=update&w=lb&sw=n1&vahst=no-such-host.invalid&vaprt=9000')).toEqual({
      type: 'ERROR',
      message: "Update failed (at least partially): could not resolve address 'no-such-host.invalid:9000' for sub worker 'n1'.",
    });
    expect(snapshot(b)).toBe(before);
  });
});

describe('balancer attribute codes (docs/status-worker.md#update-codes)', () => {
  const cases: [string, string, string, unknown][] = [
    ['vlr', '3', 'retries', 3],
    ['vlri', '250', 'retry_interval', 250],
    ['vlt', '90', 'recover_time', 90],
    ['vlee', '45', 'error_escalation_time', 45],
    ['vlx', '2', 'max_reply_timeouts', 2],
    ['vls', '0', 'sticky_session', false],
    ['vls', 'off', 'sticky_session', false],
    ['vlf', 'true', 'sticky_session_force', true],
    ['vlm', 'b', 'method', 'Busyness'],
    ['vlm', 'Next', 'method', 'Next'],
    ['vll', 'p', 'lock', 'Pessimistic'],
  ];
  for (const [code, raw, key, expected] of cases) {
    it(`${code}=${raw} sets ${key}`, async () => {
      const attr = LB_ATTRIBUTES.find((a) => a.key === key)!;
      expect(await result(`cmd=update&w=lb&${code}=${raw}`)).toEqual(OK);
      expect(attr.current(b.lb)).toBe(expected);
      expect(h.logs.find((l) => l.msg === 'status change')?.obj).toMatchObject({ lb: 'lb', member: null, field: key, new: expected });
      expect(parseProps((await h.get('mime=prop')).body).get('worker.lb.overrides')).toBe(key);
    });
  }

  it('applies several settings at once', async () => {
    expect(await result('cmd=update&w=lb&vlr=4&vlt=90&vlx=1&vlm=s')).toEqual(OK);
    expect([b.lb.retries, b.lb.recoverTimeSec, b.lb.maxReplyTimeouts, b.lb.method]).toEqual([4, 90, 1, 3]);
  });
});

describe('one attribute for all members (docs/status-worker.md#one-attribute-for-all-members)', () => {
  it('sets val<i> per member index; a missing val leaves that member alone', async () => {
    expect(await result('cmd=update&w=lb&att=vwa&val0=d&val1=s')).toEqual(OK);
    expect(b.members.map((m) => m.activation)).toEqual([1, 2, 1]);
    expect(await result('cmd=update&w=lb&att=vwf&val2=5')).toEqual(OK);
    expect(b.members.map((m) => m.lbfactor)).toEqual([1, 2, 5]);
    expect(b.members.map((m) => m.lbMult)).toEqual([10, 5, 2]);
  });

  it('refuses unknown or host/port attributes, stray values and duplicate routes', async () => {
    const before = snapshot(b);
    expect(await result('cmd=update&w=lb&att=vahst&val0=x')).toEqual({ type: 'ERROR', message: "Update failed (at least partially): unknown attribute 'vahst' for all members." });
    expect(await result('cmd=update&w=lb&att=vzz&val0=1')).toMatchObject({ type: 'ERROR' });
    expect(await result('cmd=update&w=lb&att=vwf&val0=2&val9=3')).toEqual({ type: 'ERROR', message: "Update failed (at least partially): parameter 'val9' does not apply to this update." });
    expect(await result('cmd=update&w=lb&att=vwf&val0=2&vwd=3')).toMatchObject({ type: 'ERROR' });
    expect(await result('cmd=update&w=lb&att=vwn&val0=x&val1=x')).toMatchObject({ type: 'ERROR' });
    expect(snapshot(b)).toBe(before);
  });
});

describe('reset and recover (docs/status-worker.md#reset-and-recover)', () => {
  function dirty() {
    for (const m of b.members) Object.assign(m, { state: State.ERROR, elected: 9, sessions: 8, errors: 7, lbValue: 6, transferred: 5, read: 4, maxBusy: 3, firstErrorTime: 1, lastErrorTime: 2 });
    b.lb.maxBusy = 5;
  }
  it('reset of the lb clears every member and the lb max_busy', async () => {
    dirty();
    expect(await result('cmd=reset&w=lb')).toEqual(OK);
    expect(b.lb.maxBusy).toBe(0);
    for (const m of b.members) expect([m.state, m.elected, m.sessions, m.errors, m.lbValue, m.transferred, m.read, m.maxBusy, m.firstErrorTime]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(h.logs.find((l) => l.msg === 'status reset')?.obj).toMatchObject({ lb: 'lb', member: null });
  });
  it('reset of one member leaves the others', async () => {
    dirty();
    expect(await result('cmd=reset&w=lb&sw=n2')).toEqual(OK);
    expect(b.members.map((m) => m.errors)).toEqual([7, 0, 7]);
    expect(b.lb.maxBusy).toBe(5);
  });
  it('recover marks an ERROR member RECOVER at the current max lb_value', async () => {
    b.members[0].lbValue = 3;
    b.members[1].lbValue = 11;
    b.members[2].state = State.ERROR;
    b.members[2].replyTimeouts = 4;
    expect(await result('cmd=recover&w=lb&sw=n3')).toEqual(OK);
    expect([b.members[2].state, b.members[2].lbValue, b.members[2].replyTimeouts]).toEqual([State.RECOVER, 11, 0]);
    expect(await result('cmd=recover&w=lb&sw=n3')).toEqual({ type: 'ERROR', message: 'Marking worker for recovery failed' });
    expect(await result('cmd=recover&w=lb')).toEqual({ type: 'ERROR', message: 'Marking worker for recovery failed' });
  });
});

describe('errors: messages and order of checks (docs/status-worker.md#results-and-messages)', () => {
  const cases: [string, string][] = [
    ['cmd=update', 'NULL or EMPTY worker param'],
    ['cmd=update&w=', 'NULL or EMPTY worker param'],
    ['cmd=update&w=nope', 'Could not find given worker'],
    ['cmd=show&w=n1', 'Could not find given worker'],
    ['cmd=update&w=lb&sw=', 'EMPTY sub worker param'],
    ['cmd=update&w=solo&sw=x', 'worker type has no sub workers'],
    ['cmd=update&w=lb&sw=zz&vwd=1', 'could not find sub worker'],
    ['cmd=update&w=solo&vacpt=3', 'worker type not implemented'],
    ['cmd=reset&w=solo', 'worker type not implemented'],
    ['cmd=bogus', 'Invalid command.'],
    ['cmd=LIST', 'Invalid command.'],
    ['cmd=update&w=lb&vzz=1', "Update failed (at least partially): parameter 'vzz' does not apply to a load balancer."],
    ['cmd=update&w=lb&vwa=d', "Update failed (at least partially): parameter 'vwa' does not apply to a load balancer."],
    ['cmd=update&w=lb&sw=n1&vlr=3', "Update failed (at least partially): parameter 'vlr' does not apply to a member."],
    ['cmd=update&w=lb&sw=n1&vwf=abc', "Update failed (at least partially): invalid value 'abc' for lbfactor of sub worker 'n1' (not a decimal integer)."],
    ['cmd=update&w=lb&sw=n1&vwf=99999999999', "Update failed (at least partially): invalid value '99999999999' for lbfactor of sub worker 'n1' (not a decimal integer)."],
    ['cmd=update&w=lb&sw=n1&vwa=x', "Update failed (at least partially): invalid value 'x' for activation of sub worker 'n1' (unknown activation)."],
    ['cmd=update&w=lb&vls=maybe', "Update failed (at least partially): invalid value 'maybe' for sticky_session of worker 'lb' (not a boolean)."],
    ['cmd=update&w=lb&vlm=x', "Update failed (at least partially): invalid value 'x' for method of worker 'lb' (unknown method)."],
    [`cmd=update&w=lb&sw=n1&vwf=3&vwn=${'r'.repeat(64)}`, `Update failed (at least partially): new route '${'r'.repeat(64)}' too long for sub worker 'n1', see log file for details.`],
    [`cmd=update&w=lb&sw=n*&vwr=${'r'.repeat(64)}`, `Update failed (at least partially): new redirect '${'r'.repeat(64)}' too long for sub worker 'n1', see log file for details. Aborting further wildcard updates.`],
    ['cmd=update&w=lb&sw=n1&vwn=a%20b', "Update failed (at least partially): invalid value 'a b' for route of sub worker 'n1' (contains whitespace, control characters, ; or ,)."],
  ];
  for (const [q, message] of cases) {
    it(`${q.slice(0, 60)} → ${message.slice(0, 50)}`, async () => {
      const before = snapshot(b);
      expect(await result(q)).toEqual({ type: 'ERROR', message });
      expect(snapshot(b)).toBe(before);
    });
  }

  it('unknown mime: error printed in properties syntax as text/plain; command checked first', async () => {
    const r = await h.get('cmd=list&mime=yaml');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(r.body).toBe('worker.result.type=ERROR\nworker.result.message=Invalid mime type.\n');
    expect((await h.get('cmd=nope&mime=yaml')).body).toContain('worker.result.message=Invalid command.');
  });

  it('a request path that cannot be percent-decoded is a 500 (as mod_jk)', async () => {
    const r = await fetch(h.base + '%zz?cmd=list');
    expect(r.status).toBe(500);
  });
});

describe('hostile input changes nothing and echoes nothing executable', () => {
  const hostile: [string, string][] = [
    ['script tag in a value', 'cmd=update&w=lb&sw=n1&vwn=%3Cscript%3Ealert(1)%3C%2Fscript%3E'],
    ['script tag in the worker name', 'cmd=update&w=%3Cscript%3Ealert(1)%3C%2Fscript%3E&vwd=1'],
    ['%00', 'cmd=update&w=lb&sw=n1&vwn=a%00b'],
    ['malformed escape', 'cmd=update&w=lb&sw=n1&vwn=a%zzb'],
    ['invalid UTF-8', 'cmd=update&w=lb&sw=n1&vwn=%C3%28'],
    ['10 KB parameter', `cmd=update&w=lb&sw=n1&vwn=${'x'.repeat(10 * 1024)}`],
    ['repeated parameter', 'cmd=update&w=lb&sw=n1&vwd=1&vwd=2'],
    ['unknown code', 'cmd=update&w=lb&sw=n1&vwzz=1&vwd=3'],
  ];
  for (const [what, q] of hostile) {
    for (const mime of ['html', 'xml', 'txt', 'prop', 'json']) {
      it(`${what} (${mime})`, async () => {
        const before = snapshot(b);
        const r = await h.get(`${q}&mime=${mime}`);
        expect(r.status).toBe(200);
        expect(r.body).not.toMatch(/<script/i);
        if (mime === 'prop') expect(parseProps(r.body).get('worker.result.type')).toBe('ERROR');
        if (mime === 'json') expect(JSON.parse(r.body).result.type).toBe('ERROR');
        if (mime === 'html') expect(r.body).toContain('Result: ERROR - ');
        expect(snapshot(b)).toBe(before);
      });
    }
  }

  it('parse failures report mod_jk\'s message', async () => {
    expect(await result('cmd=update&w=lb&sw=n1&vwn=a%00b')).toEqual({ type: 'ERROR', message: 'Error during parsing of URI' });
    expect(await result('cmd=update&w=lb&sw=n1&vwd=1&vwd=2')).toEqual({ type: 'ERROR', message: 'Error during parsing of URI' });
    expect(h.logs.some((l) => l.msg === 'status request refused' && String(l.obj.problem).includes("repeated parameter 'vwd'"))).toBe(true);
  });
});
