/**
 * lbfactor → lb_mult, per-method lb_value movement, decay and the balanced choice
 * (docs/load-balancing.md#weights, #methods, #balanced-choice, #maintenance).
 */
import { describe, expect, it } from 'vitest';
import { lbMults } from '../../src/routing/lb-mult.js';
import { Act, Method, State } from '../../src/routing/types.js';
import { balancer, decide, memberConfig, outcome, plain, rule, view } from './fixtures.js';

const weighted = () => [memberConfig('n1', { lbfactor: 1 }), memberConfig('n2', { lbfactor: 2 }), memberConfig('n3', { lbfactor: 3 })];

describe('lb_mult (docs/load-balancing.md#weights)', () => {
  it('is lcm / lbfactor', () => {
    expect(lbMults([1, 2, 3])).toEqual([6, 3, 2]);
    expect(lbMults([4, 6])).toEqual([3, 2]);
    expect(lbMults([0, 1])).toEqual([1, 1]); // factors below 1 count as 1
  });
  it('stays proportional to 1/lbfactor when the exact lcm would overflow', () => {
    const primes = [101, 103, 107, 109, 113, 127];
    const m = lbMults(primes);
    for (let i = 0; i < primes.length; i++) {
      expect(Number.isInteger(m[i])).toBe(true);
      expect((m[i] * primes[i]) / (m[0] * primes[0])).toBeCloseTo(1, 6);
    }
  });
});

describe('method Request with lbfactor 1/2/3', () => {
  it('makes the first 12 decisions as the algorithm dictates', () => {
    // mult 6/3/2; lowest lb_value wins, ties by rotation from the last winner + 1:
    // values (n1,n2,n3): 0,0,0 →n1 6,0,0 →n2 6,3,0 →n3 6,3,2 →n3 6,3,4 →n2 6,6,4 →n3 6,6,6
    // →n1 (rotation back at n1) 12,6,6 →n2 12,9,6 →n3 12,9,8 →n3 12,9,10 →n2 12,12,10 →n3 12,12,12
    const { b } = balancer(weighted(), {}, { maintainSec: 0 });
    const names = Array.from({ length: 12 }, () => decide(b)!.member);
    expect(names).toEqual(['n1', 'n2', 'n3', 'n3', 'n2', 'n3', 'n1', 'n2', 'n3', 'n3', 'n2', 'n3']);
    expect(b.members.map((m) => m.lbValue)).toEqual([12, 12, 12]);
  });

  it('sends 600 session-less requests exactly 100/200/300', () => {
    const { b } = balancer(weighted(), {}, { maintainSec: 0 });
    const count: Record<string, number> = { n1: 0, n2: 0, n3: 0 };
    for (let i = 0; i < 600; i++) count[decide(b)!.member]++;
    expect(count).toEqual({ n1: 100, n2: 200, n3: 300 });
    expect(b.members.map((m) => m.elected)).toEqual([100, 200, 300]);
  });

  it('counts sticky requests too', () => {
    const { b } = balancer(weighted(), {}, { maintainSec: 0 });
    decide(b, view({ cookies: ['JSESSIONID=x.n3'] }));
    expect(b.members.map((m) => m.lbValue)).toEqual([0, 0, 2]);
    expect(b.members[2].sessions).toBe(0);
  });
});

describe('lb_value per method (docs/load-balancing.md#methods)', () => {
  it('Sessions: only session-less, non-stateless attempts count', () => {
    const { b } = balancer(plain(2), { method: 'Sessions' }, { maintainSec: 0 });
    decide(b, view({ cookies: ['JSESSIONID=x.n1'] }));
    expect(b.members.map((m) => [m.lbValue, m.sessions])).toEqual([[0, 0], [0, 0]]);
    decide(b, view({ rule: rule({ stateless: true }) }));
    expect(b.members.map((m) => [m.lbValue, m.sessions])).toEqual([[0, 0], [0, 0]]);
    decide(b); // new session → n2 (rotation after the stateless pick of n1)
    expect(b.members.map((m) => [m.lbValue, m.sessions])).toEqual([[0, 0], [1, 1]]);
  });

  it('Next: grows like Sessions and maintenance subtracts the usable minimum instead of halving', () => {
    const { b, clock } = balancer(plain(3), { method: 'Next' }, { maintainSec: 60 });
    for (let i = 0; i < 5; i++) decide(b);
    expect(b.members.map((m) => m.lbValue)).toEqual([2, 2, 1]);
    b.members[2].state = State.BUSY; // not usable: excluded from the minimum
    b.members[2].lbValue = 0;
    clock.advance(60_000);
    b.maintain();
    expect(b.members.map((m) => m.lbValue)).toEqual([0, 0, 0]);
  });

  it('Traffic: adds (sent + received) × mult after the attempt, nothing at its start', () => {
    const { b } = balancer([memberConfig('n1', { lbfactor: 1 }), memberConfig('n2', { lbfactor: 2 })], { method: 'Traffic' }, { maintainSec: 0 });
    const r = b.begin(view());
    const s = b.next(r);
    if (s.kind !== 'attempt') throw new Error('expected an attempt');
    b.startAttempt(r, s.member);
    expect(b.members[0].lbValue).toBe(0);
    b.endAttempt(r, s.member, outcome('success', { bytesSent: 100, bytesReceived: 50 }));
    expect(b.members[0].lbValue).toBe(150 * 2);
    expect([b.members[0].transferred, b.members[0].read]).toEqual([100, 50]);
    // A failed attempt's bytes count as well.
    const r2 = b.begin(view());
    const s2 = b.next(r2);
    if (s2.kind !== 'attempt') throw new Error('expected an attempt');
    expect(b.members[s2.member].name).toBe('n2');
    b.startAttempt(r2, s2.member);
    b.endAttempt(r2, s2.member, outcome('read', { bytesSent: 10, bytesReceived: 0 }));
    expect(b.members[1].lbValue).toBe(10);
  });

  it('Busyness: in-flight × mult, floored at 0, and not decayed', () => {
    const { b, clock } = balancer(plain(2), { method: 'Busyness' }, { maintainSec: 60 });
    const a = b.begin(view());
    const sa = b.next(a);
    if (sa.kind !== 'attempt') throw new Error('expected an attempt');
    b.startAttempt(a, sa.member);
    const c = b.begin(view());
    const sc = b.next(c);
    if (sc.kind !== 'attempt') throw new Error('expected an attempt');
    expect(sc.member).not.toBe(sa.member); // the busier member is avoided
    b.startAttempt(c, sc.member);
    const r = b.begin(view());
    const sr = b.next(r);
    if (sr.kind !== 'attempt') throw new Error('expected an attempt');
    b.startAttempt(r, sr.member);
    expect(b.members.map((m) => m.lbValue).sort()).toEqual([1, 2]);
    clock.advance(120_000);
    b.maintain();
    expect(b.members.map((m) => m.lbValue).sort()).toEqual([1, 2]);
    b.endAttempt(a, sa.member, outcome('success', { status: 200 }));
    b.endAttempt(c, sc.member, outcome('success', { status: 200 }));
    b.endAttempt(r, sr.member, outcome('success', { status: 200 }));
    expect(b.members.map((m) => m.lbValue)).toEqual([0, 0]);
    const z = b.begin(view());
    const sz = b.next(z);
    if (sz.kind !== 'attempt') throw new Error('expected an attempt');
    b.startAttempt(z, sz.member);
    b.members[sz.member].lbValue = 0; // e.g. a status reset while in flight
    b.endAttempt(z, sz.member, outcome('success', { status: 200 }));
    expect(b.members[sz.member].lbValue).toBe(0);
  });

  it('stateless requests ignore lb_value: pure round-robin', () => {
    const { b } = balancer(weighted(), {}, { maintainSec: 0 });
    const stateless = view({ rule: rule({ stateless: true }) });
    const names = Array.from({ length: 6 }, () => decide(b, stateless)!.member);
    expect(names).toEqual(['n1', 'n2', 'n3', 'n1', 'n2', 'n3']);
  });
});

describe('maintenance decay and recovery (docs/load-balancing.md#maintenance)', () => {
  it('halves once per whole elapsed interval, and only when one interval passed', () => {
    const { b, clock } = balancer(plain(2), {}, { maintainSec: 60 });
    b.members[0].lbValue = 64;
    b.members[1].lbValue = 40;
    b.members[1].replyTimeouts = 8;
    clock.advance(59_999);
    b.maintain();
    expect(b.members.map((m) => m.lbValue)).toEqual([64, 40]);
    clock.advance(1);
    b.maintain();
    expect(b.members.map((m) => m.lbValue)).toEqual([32, 20]);
    expect(b.members[1].replyTimeouts).toBe(4);
    clock.advance(3 * 60_000 + 59_000); // three whole intervals
    b.maintain();
    expect(b.members.map((m) => m.lbValue)).toEqual([4, 2]);
    expect(b.members[1].replyTimeouts).toBe(0);
  });

  it('clamps shifts of 53 intervals or more to 0', () => {
    const { b, clock } = balancer(plain(1), {}, { maintainSec: 1 });
    b.members[0].lbValue = 2 ** 52;
    clock.advance(70_000);
    b.maintain();
    expect(b.members[0].lbValue).toBe(0);
  });

  it('runs from begin() and never with maintain 0', () => {
    const off = balancer(plain(1), {}, { maintainSec: 0 });
    off.b.members[0].lbValue = 8;
    off.clock.advance(3_600_000);
    off.b.begin(view());
    expect(off.b.members[0].lbValue).toBe(8);
    const on = balancer(plain(1), {}, { maintainSec: 60 });
    on.b.members[0].lbValue = 8;
    on.clock.advance(60_000);
    on.b.begin(view());
    expect(on.b.members[0].lbValue).toBe(4);
  });

  it('a recovered member starts at the current maximum (not for Busyness)', () => {
    const { b, clock } = balancer(plain(3), { recoverTimeSec: 60 }, { maintainSec: 60 });
    b.members[0].lbValue = 100;
    b.members[1].lbValue = 30;
    b.members[2].state = State.ERROR;
    b.members[2].lastErrorTime = clock.now();
    b.members[2].firstErrorTime = clock.now();
    b.members[2].replyTimeouts = 3;
    clock.advance(60_000); // exactly recover_time: not yet (strictly greater)
    b.maintain();
    expect(b.members[2].state).toBe(State.ERROR);
    expect(b.members.map((m) => m.lbValue)).toEqual([50, 15, 0]);
    clock.advance(60_000);
    b.maintain();
    expect(b.members[2].state).toBe(State.RECOVER);
    expect(b.members.map((m) => m.lbValue)).toEqual([25, 7, 25]);
    expect(b.members[2].replyTimeouts).toBe(0);

    const busy = balancer(plain(2), { method: 'Busyness' }, { maintainSec: 60 });
    busy.b.members[0].lbValue = 3;
    busy.b.members[1].state = State.ERROR;
    busy.b.members[1].lastErrorTime = busy.clock.now();
    busy.clock.advance(120_000);
    busy.b.maintain();
    expect(busy.b.members[1].state).toBe(State.RECOVER);
    expect(busy.b.members[1].lbValue).toBe(0);
  });

  it('an activation change resets every lb_value, except under Busyness', () => {
    const { b } = balancer(plain(2), {}, { maintainSec: 0 });
    b.members[0].lbValue = 5;
    b.members[1].lbValue = 7;
    expect(b.setActivation(1, Act.DISABLED)).toBe(true);
    expect(b.members.map((m) => m.lbValue)).toEqual([0, 0]);
    const busy = balancer(plain(2), { method: 'Busyness' }, { maintainSec: 0 });
    busy.b.members[0].lbValue = 5;
    busy.b.setActivation(1, Act.DISABLED);
    expect(busy.b.members[0].lbValue).toBe(5);
    expect(busy.b.lb.method).toBe(Method.BUSYNESS);
  });
});
