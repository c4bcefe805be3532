/** Operations the status worker uses (docs/status-worker.md#update-codes, #reset-and-recover). */
import { describe, expect, it } from 'vitest';
import { Act, State } from '../../src/routing/types.js';
import { balancer, decide, memberConfig, plain, view } from './fixtures.js';

describe('management', () => {
  it('memberByName finds members by name', () => {
    const { b } = balancer(plain(2));
    expect(b.memberByName('n2')?.index).toBe(1);
    expect(b.memberByName('zz')).toBeUndefined();
  });

  it('a member with port 0 starts Stopped; a configured Disabled member records since when', () => {
    const { b, clock } = balancer([memberConfig('n1', { port: 0 }), memberConfig('n2', { activation: 'DIS' })]);
    expect(b.members[0].activation).toBe(Act.STOPPED);
    expect(b.members[1].disabledSince).toBe(clock.now());
  });

  it('setActivation reports changes and tracks disabledSince', () => {
    const { b, clock } = balancer(plain(2));
    expect(b.setActivation(0, Act.ACTIVE)).toBe(false);
    clock.advance(5);
    expect(b.setActivation(0, Act.DISABLED)).toBe(true);
    expect(b.members[0].disabledSince).toBe(clock.now());
    expect(b.setActivation(0, Act.ACTIVE)).toBe(true);
    expect(b.members[0].disabledSince).toBe(0);
  });

  it('setLbFactor recomputes every lb_mult and keeps lb_values', () => {
    const { b } = balancer(plain(3));
    b.members[0].lbValue = 9;
    expect(b.members.map((m) => m.lbMult)).toEqual([1, 1, 1]);
    expect(b.setLbFactor(1, 2)).toBe(true);
    expect(b.setLbFactor(2, 3)).toBe(true);
    expect(b.members.map((m) => m.lbMult)).toEqual([6, 3, 2]);
    expect(b.members[0].lbValue).toBe(9);
    expect(b.setLbFactor(2, 3)).toBe(false);
    expect(b.setLbFactor(2, 0)).toBe(false);
  });

  it('setRoute re-indexes routes and derives an empty domain', () => {
    const { b } = balancer(plain(2));
    expect(b.setRoute(1, 'dc7.node2')).toBe(true);
    expect(b.members[1].domain).toBe('dc7');
    expect(decide(b, view({ cookies: ['JSESSIONID=s.dc7.node2'] }))!.member).toBe('n2');
    b.lb.nextOffset = 0;
    expect(decide(b, view({ cookies: ['JSESSIONID=s.n2'] }))!.path).toBe('balanced');
    b.setMember(1, 'domain', 'fixed');
    b.setRoute(1, 'x.y');
    expect(b.members[1].domain).toBe('fixed');
    expect(b.setRoute(1, 'x.y')).toBe(false);
  });

  it('reset zeroes counters and state (one member, or all plus the lb)', () => {
    const { b, clock } = balancer(plain(2));
    for (let i = 0; i < 4; i++) decide(b);
    b.members[0].state = State.ERROR;
    b.members[0].errors = 3;
    b.lb.maxBusy = 5;
    clock.advance(1000);
    b.reset(0);
    expect([b.members[0].state, b.members[0].elected, b.members[0].errors, b.members[0].lbValue]).toEqual([State.IDLE, 0, 0, 0]);
    expect(b.members[0].lastResetTime).toBe(clock.now());
    expect([b.members[1].elected, b.lb.maxBusy]).toEqual([2, 5]);
    b.reset();
    expect([b.members[1].elected, b.members[1].sessions, b.lb.maxBusy, b.lb.lastResetTime]).toEqual([0, 0, 0, clock.now()]);
  });

  it('recover works only on ERROR members and starts them at the current max lb_value', () => {
    const { b } = balancer(plain(3));
    b.members[0].lbValue = 4;
    b.members[1].lbValue = 11;
    expect(b.recover(2)).toBe(false);
    b.members[2].state = State.ERROR;
    b.members[2].replyTimeouts = 4;
    expect(b.recover(2)).toBe(true);
    expect([b.members[2].state, b.members[2].lbValue, b.members[2].replyTimeouts]).toEqual([State.RECOVER, 11, 0]);
  });
});
