/**
 * The gate (Balancer.setMember / setLb / carryOver) as the one writer of live settings, driven
 * from the attribute table: every change moves the record's generation, only the settings a
 * transport is built from move the transport generation, the live configuration a transport is
 * built from holds every live value, and a reload carries live changes, counters and transport
 * generations over.
 */
import { describe, expect, it } from 'vitest';
import { LB_ATTRIBUTES, MEMBER_ATTRIBUTES, type AttrValue, type LbAttribute, type MemberAttribute } from '../../src/routing/attributes.js';
import { Balancer } from '../../src/routing/balancer.js';
import type { MemberRuntime } from '../../src/routing/member.js';
import { Act, State } from '../../src/routing/types.js';
import { applyState, STATE_VERSION, type PersistedState } from '../../src/status/persist.js';
import { balancer, lbConfig, memberConfig, plain } from './fixtures.js';

/** A valid value of `attr` other than `current`. */
function another(attr: MemberAttribute | LbAttribute, current: AttrValue): AttrValue {
  switch (attr.kind) {
    case 'activation':
      return current === 'DIS' ? 'ACT' : 'DIS';
    case 'bool':
      return !current;
    case 'method':
      return current === 'Traffic' ? 'Request' : 'Traffic';
    case 'lock':
      return current === 'Pessimistic' ? 'Optimistic' : 'Pessimistic';
    case 'packet':
      return current === 16384 ? 8192 : 16384;
    case 'string':
      return `${current}x`;
    case 'int':
      return (current as number) + 1;
  }
}

/** What the table reads as "the workers-file value" out of a member's live configuration. */
const fromLiveConfig = (attr: MemberAttribute, m: MemberRuntime) => attr.configured({ config: m.transportConfig } as unknown as MemberRuntime);

describe('the gate writes member settings', () => {
  for (const attr of MEMBER_ATTRIBUTES) {
    it(`${attr.key}: one generation step, a transport generation step only if it applies to the transport`, () => {
      const { b } = balancer(plain(2));
      const m = b.members[0];
      const [gen, tgen] = [m.generation, m.transportGeneration];
      const value = another(attr, attr.current(m));
      expect(b.setMember(0, attr.key, value)).toBe(true);
      expect(attr.current(m)).toBe(value);
      expect(m.generation).toBe(gen + 1);
      expect(m.transportGeneration).toBe(tgen + (attr.applies.includes('transport') ? 1 : 0));
      // The configuration a transport is built from holds the live value, with the transport generation.
      expect(fromLiveConfig(attr, m)).toBe(value);
      expect(m.transportConfig.generation).toBe(m.transportGeneration);
      // The same value again changes nothing.
      expect(b.setMember(0, attr.key, value)).toBe(false);
      expect(m.generation).toBe(gen + 1);
      // The other member is untouched.
      expect(attr.current(b.members[1])).toBe(attr.configured(b.members[1]));
      expect(b.members[1].generation).toBe(0);
    });
  }

  it('the live configuration is one object per settings generation', () => {
    const { b } = balancer(plain(1));
    const m = b.members[0];
    const first = m.transportConfig;
    expect(m.transportConfig).toBe(first);
    b.setMember(0, 'distance', 3);
    expect(m.transportConfig).not.toBe(first);
    expect(m.transportConfig.distance).toBe(3);
    expect(Object.isFrozen(m.transportConfig)).toBe(true);
  });

  it('refuses keys that are not in the table', () => {
    const { b } = balancer(plain(1));
    expect(() => b.setMember(0, 'nonsense', 1)).toThrow(/unknown member attribute/);
    expect(() => b.setLb('nonsense', 1)).toThrow(/unknown lb attribute/);
  });

  it('a disable starts the drain clock, any other activation ends it', () => {
    const { b, clock } = balancer(plain(2));
    b.setActivation(0, Act.DISABLED);
    expect(b.members[0].disabledSince).toBe(clock.now());
    b.setActivation(0, Act.STOPPED);
    expect(b.members[0].disabledSince).toBe(0);
  });
});

describe('the gate writes lb settings', () => {
  for (const attr of LB_ATTRIBUTES) {
    it(`${attr.key}: one generation step`, () => {
      const { b } = balancer(plain(2));
      const value = another(attr, attr.current(b.lb));
      expect(b.setLb(attr.key, value)).toBe(true);
      expect(attr.current(b.lb)).toBe(value);
      expect(b.lb.generation).toBe(1);
      expect(b.setLb(attr.key, value)).toBe(false);
      expect(b.lb.generation).toBe(1);
      expect(b.members.map((m) => m.generation)).toEqual([0, 0]);
    });
  }
});

describe('reload carry-over through the gate', () => {
  const cfg = () => lbConfig([memberConfig('n1'), memberConfig('n2', { host: 'h2' }), memberConfig('n3')]);
  const opts = (b: Balancer) => ({ maintainSec: b.maintainSec, clock: b.clock });

  it('keeps every setting changed live, member by member, by name', () => {
    const { b: old } = balancer([memberConfig('n1'), memberConfig('n2', { host: 'h2' }), memberConfig('n3')]);
    for (const attr of MEMBER_ATTRIBUTES) old.setMember(1, attr.key, another(attr, attr.current(old.members[1])));
    for (const attr of LB_ATTRIBUTES) old.setLb(attr.key, another(attr, attr.current(old.lb)));
    // The new configuration drops n1 and reorders the others.
    const next = new Balancer(lbConfig([memberConfig('n3'), memberConfig('n2', { host: 'h2' })], {}), opts(old));
    next.carryOver(old);
    const n2 = next.memberByName('n2')!;
    for (const attr of MEMBER_ATTRIBUTES) expect(attr.current(n2), attr.key).toBe(attr.current(old.members[1]));
    for (const attr of LB_ATTRIBUTES) expect(attr.current(next.lb), attr.key).toBe(attr.current(old.lb));
    expect(n2.transportGeneration).toBe(old.members[1].transportGeneration);
    expect(n2.generation).toBeGreaterThan(old.members[1].generation);
    // Its route index follows the carried route.
    expect(next.indexOfRoute(n2.route)).toBe(n2.index);
  });

  it('a setting not changed live takes the new configuration’s value', () => {
    const { b: old } = balancer(cfg().members.slice());
    const next = new Balancer(lbConfig([memberConfig('n1', { distance: 5 }), memberConfig('n2', { host: 'h2' }), memberConfig('n3')]), opts(old));
    next.carryOver(old);
    expect(next.members[0].distance).toBe(5);
  });

  it('carries states, counters and the drain clock; lb_values survive a carried activation', () => {
    const { b: old, clock } = balancer(cfg().members.slice());
    old.setActivation(1, Act.DISABLED);
    const since = old.members[1].disabledSince;
    old.members[0].state = State.ERROR;
    old.members[0].errors = 3;
    old.members[1].lbValue = 4;
    old.members[2].lbValue = 7;
    clock.advance(5_000);
    const next = new Balancer(cfg(), opts(old));
    next.carryOver(old);
    expect([next.members[0].state, next.members[0].errors]).toEqual([State.ERROR, 3]);
    expect(next.members[1].activation).toBe(Act.DISABLED);
    expect(next.members[1].disabledSince).toBe(since);
    expect(next.members.map((m) => m.lbValue)).toEqual([0, 4, 7]);
  });
});

describe('state-file restore through the gate', () => {
  it('a restored transport setting moves the transport generation and is in the live configuration', () => {
    const { b } = balancer(plain(2));
    const state: PersistedState = { version: STATE_VERSION, balancers: { lb: { settings: {}, members: { n2: { prepost_timeout: { value: 1500, config: 0 } } } } } };
    const logs: unknown[] = [];
    expect(applyState(state, new Map([['lb', b]]), { info: (o) => logs.push(o), warn: (o) => logs.push(o) })).toEqual([]);
    const m = b.members[1];
    expect(m.prepostTimeoutMs).toBe(1500);
    expect(m.transportGeneration).toBe(1);
    expect(m.transportConfig.ping.prepostTimeoutMs).toBe(1500);
    expect(b.members[0].transportGeneration).toBe(0);
  });
});
