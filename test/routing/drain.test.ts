/** Drain progress (HyperLogLog over a sliding window) and the drain policy, with a fake clock. */
import { describe, expect, it } from 'vitest';
import { BUCKETS, DRAIN_STANDARD_ERROR, DrainRegistry, DrainTracker, dueDrains, drainExtras, drainInfo } from '../../src/routing/drain.js';
import { applyOp } from '../../src/routing/admin-ops.js';
import { Balancer } from '../../src/routing/balancer.js';
import { Act } from '../../src/routing/types.js';
import { FakeClock, balancer, decide, lbConfig, memberConfig, plain, view } from './fixtures.js';

/** Session ids shaped like Tomcat's (hex + route); `set` keeps sets disjoint. */
const sid = (set: number, i: number) => `${(set * 1_000_003 + i).toString(16).toUpperCase().padStart(16, '0')}.n1`;
const T0 = 1_700_000_000_000;

function recordSet(t: DrainTracker, set: number, n: number, now: number): void {
  for (let i = 0; i < n; i++) t.record(sid(set, i), now);
}

describe('DrainTracker: distinct sessions', () => {
  it('counts small numbers (almost) exactly', () => {
    for (const n of [0, 1, 2, 3, 5, 8, 13, 20]) {
      const t = new DrainTracker(600);
      recordSet(t, n, n, T0);
      expect(Math.abs(t.distinct(T0) - n), `n=${n}`).toBeLessThanOrEqual(1);
    }
    const t = new DrainTracker(600);
    recordSet(t, 7, 100, T0);
    expect(Math.abs(t.distinct(T0) - 100)).toBeLessThanOrEqual(5);
  });

  it('counts a repeated id once, across buckets too', () => {
    const t = new DrainTracker(600);
    for (let round = 0; round < 20; round++) recordSet(t, 1, 40, T0 + round * 25_000);
    expect(Math.abs(t.distinct(T0 + 20 * 25_000) - 40)).toBeLessThanOrEqual(1);
  });

  it('stays within the HLL error bound on 100k ids', () => {
    expect(DRAIN_STANDARD_ERROR).toBeCloseTo(0.0325, 3);
    const n = 100_000;
    let squares = 0;
    const sets = 8;
    for (let s = 0; s < sets; s++) {
      const t = new DrainTracker(600);
      recordSet(t, s, n, T0);
      const rel = (t.distinct(T0) - n) / n;
      expect(Math.abs(rel), `set ${s}`).toBeLessThan(3 * DRAIN_STANDARD_ERROR);
      squares += rel * rel;
    }
    // The observed spread matches the documented standard error, not just the 3σ worst case.
    expect(Math.sqrt(squares / sets)).toBeLessThan(1.5 * DRAIN_STANDARD_ERROR);
  });

  it('forgets sessions once the window has passed without them', () => {
    const t = new DrainTracker(600);
    recordSet(t, 1, 30, T0);
    expect(t.distinct(T0 + 300_000)).toBe(30);
    // Kept for at least window − one bucket, gone at the latest after the window.
    expect(t.distinct(T0 + 600_000 - 600_000 / BUCKETS - 1)).toBe(30);
    expect(t.distinct(T0 + 600_000)).toBe(0);
    expect(t.lastStickyMs).toBe(T0);
  });

  it('slides: only sessions seen within the window count', () => {
    const t = new DrainTracker(600);
    recordSet(t, 1, 30, T0);
    recordSet(t, 2, 12, T0 + 300_000);
    // Estimates: small counts are exact give or take one.
    expect(Math.abs(t.distinct(T0 + 300_000) - 42)).toBeLessThanOrEqual(1);
    expect(Math.abs(t.distinct(T0 + 600_000) - 12)).toBeLessThanOrEqual(1);
    expect(t.distinct(T0 + 900_000)).toBe(0);
    // Old buckets are reused: new traffic after a quiet spell counts from zero.
    recordSet(t, 3, 5, T0 + 2_000_000);
    expect(Math.abs(t.distinct(T0 + 2_000_000) - 5)).toBeLessThanOrEqual(1);
  });

  it('uses fixed memory whatever the number of ids', () => {
    const t = new DrainTracker(600);
    const before = t.memoryBytes;
    expect(before).toBeLessThanOrEqual(BUCKETS * 1024 + 2048);
    for (let s = 0; s < 3; s++) recordSet(t, s, 50_000, T0 + s * 100_000);
    expect(t.memoryBytes).toBe(before);
  });

  it('with window 0 counts nothing but keeps the last sticky time', () => {
    const t = new DrainTracker(0);
    t.record('abc.n1', T0);
    expect(t.distinct(T0)).toBe(0);
    expect(t.lastStickyMs).toBe(T0);
  });
});

describe('DrainRegistry', () => {
  it('keeps a member tracker across a reload (new Balancer objects)', () => {
    const reg = new DrainRegistry();
    const clock = new FakeClock(T0);
    const cfg = lbConfig(plain(2), { drainWindowSec: 60 });
    const b1 = new Balancer(cfg, { maintainSec: 60, clock });
    recordSet(reg.trackersOf(b1)[1], 1, 9, T0);
    const b2 = new Balancer(cfg, { maintainSec: 60, clock });
    expect(reg.trackersOf(b2)[1]).toBe(reg.trackersOf(b1)[1]);
    expect(reg.trackersOf(b2)[1].distinct(T0)).toBe(9);
    expect(reg.tracker('lb', 'n2', 60)).toBe(reg.trackersOf(b2)[1]);
  });

  it('starts a new count when the window changes, keeping the last sticky time', () => {
    const reg = new DrainRegistry();
    const t = reg.tracker('lb', 'n1', 60);
    t.record('x.n1', T0);
    const u = reg.tracker('lb', 'n1', 120);
    expect(u).not.toBe(t);
    expect(u.windowSec).toBe(120);
    expect(u.distinct(T0)).toBe(0);
    expect(u.lastStickyMs).toBe(T0);
  });

  it('prunes members that left the configuration', () => {
    const reg = new DrainRegistry();
    const clock = new FakeClock(T0);
    const b = new Balancer(lbConfig(plain(1)), { maintainSec: 60, clock });
    const kept = reg.tracker('lb', 'n1', 600);
    const gone = reg.tracker('lb', 'old', 600);
    reg.prune([b]);
    expect(reg.tracker('lb', 'n1', 600)).toBe(kept);
    expect(reg.tracker('lb', 'old', 600)).not.toBe(gone);
  });
});

/** A sticky request for session `id` routed to route n1, through the real routing core and the tracker. */
function stickyRequest(b: Balancer, reg: DrainRegistry, clock: FakeClock, id: string): void {
  const d = decide(b, view({ cookies: [`JSESSIONID=${id}.n1`] }));
  expect(d?.member).toBe('n1');
  expect(d?.sticky).toBe(true);
  reg.trackersOf(b)[0].record(id, clock.now());
}

/** The drain policy as the app runs it: the due moves, each applied as a change of activation. */
function checkDrains(b: Balancer, reg: DrainRegistry, nowMs: number) {
  const moves = dueDrains(b, reg, nowMs);
  for (const m of moves) applyOp(new Map([[b.lb.name, b]]), { kind: 'set', lb: m.lb, member: m.member, key: 'activation', value: 'STP' });
  return moves;
}

describe('drain policy', () => {
  const drained = (o: { idle?: number; deadline?: number }) => {
    const { b, clock } = balancer([memberConfig('n1', { drainIdleSec: o.idle ?? 0, drainDeadlineSec: o.deadline ?? 0 }), memberConfig('n2')]);
    return { b, clock, reg: new DrainRegistry() };
  };

  it('leaves active members and disabled members without a policy alone', () => {
    const { b, clock, reg } = drained({ idle: 10 });
    clock.advance(3_600_000);
    expect(checkDrains(b, reg, clock.now())).toEqual([]);
    b.setMember(1, 'drain_idle_time', 0);
    b.setActivation(1, Act.DISABLED);
    clock.advance(3_600_000);
    expect(checkDrains(b, reg, clock.now())).toEqual([]);
    expect(b.members.map((m) => m.activation)).toEqual([Act.ACTIVE, Act.DISABLED]);
  });

  it('stops a disabled member after drain_idle_time without sticky traffic', () => {
    const { b, clock, reg } = drained({ idle: 30 });
    b.setActivation(0, Act.DISABLED);
    clock.advance(20_000);
    stickyRequest(b, reg, clock, 'AAA');
    clock.advance(29_000);
    expect(checkDrains(b, reg, clock.now())).toEqual([]);
    expect(drainInfo(b.members[0], reg.trackersOf(b)[0], clock.now())).toEqual({
      sessions_seen: 1,
      last_sticky_ago: 29,
      drain_idle_time: 30,
      drain_deadline: 0,
      stop_in: 1,
      stop_reason: 'idle',
    });
    clock.advance(1_000);
    expect(checkDrains(b, reg, clock.now())).toEqual([{ lb: 'lb', member: 'n1', reason: 'idle', afterSec: 50 }]);
    expect(b.members[0].activation).toBe(Act.STOPPED);
    expect(drainInfo(b.members[0], reg.trackersOf(b)[0], clock.now()).stop_in).toBe(-1);
    expect(checkDrains(b, reg, clock.now())).toEqual([]);
  });

  it('counts idle time from the disable when no sticky request came since', () => {
    const { b, clock, reg } = drained({ idle: 30 });
    stickyRequest(b, reg, clock, 'OLD'); // before the disable: does not delay the drain
    clock.advance(60_000);
    b.setActivation(0, Act.DISABLED);
    clock.advance(29_999);
    expect(checkDrains(b, reg, clock.now())).toEqual([]);
    clock.advance(1);
    expect(checkDrains(b, reg, clock.now())).toEqual([{ lb: 'lb', member: 'n1', reason: 'idle', afterSec: 30 }]);
  });

  it('stops at drain_deadline even while sticky traffic continues', () => {
    const { b, clock, reg } = drained({ idle: 30, deadline: 120 });
    b.setActivation(0, Act.DISABLED);
    for (let s = 0; s < 11; s++) {
      clock.advance(10_000);
      stickyRequest(b, reg, clock, `S${s}`);
      expect(checkDrains(b, reg, clock.now())).toEqual([]);
    }
    expect(drainInfo(b.members[0], reg.trackersOf(b)[0], clock.now())).toMatchObject({ sessions_seen: 11, last_sticky_ago: 0, stop_in: 10, stop_reason: 'deadline' });
    clock.advance(10_000);
    expect(checkDrains(b, reg, clock.now())).toEqual([{ lb: 'lb', member: 'n1', reason: 'deadline', afterSec: 120 }]);
  });

  it('reports the policy that was due first when the check runs late', () => {
    const { b, clock, reg } = drained({ idle: 30, deadline: 40 });
    b.setActivation(0, Act.DISABLED);
    clock.advance(15_000);
    stickyRequest(b, reg, clock, 'X'); // idle due at 45 s, deadline at 40 s
    clock.advance(600_000);
    expect(checkDrains(b, reg, clock.now())).toEqual([{ lb: 'lb', member: 'n1', reason: 'deadline', afterSec: 615 }]);
  });

  it('follows settings changed at runtime (through the gate, as the status worker changes them)', () => {
    const { b, clock, reg } = drained({});
    b.setActivation(0, Act.DISABLED);
    clock.advance(5_000);
    expect(drainInfo(b.members[0], reg.trackersOf(b)[0], clock.now())).toEqual({
      sessions_seen: 0,
      last_sticky_ago: -1,
      drain_idle_time: 0,
      drain_deadline: 0,
      stop_in: -1,
      stop_reason: null,
    });
    b.setMember(0, 'drain_deadline', 8);
    expect(drainInfo(b.members[0], reg.trackersOf(b)[0], clock.now()).stop_in).toBe(3);
    clock.advance(3_000);
    expect(checkDrains(b, reg, clock.now())).toEqual([{ lb: 'lb', member: 'n1', reason: 'deadline', afterSec: 8 }]);
  });

  it('starts the drain clock at startup for a member disabled in the workers file', () => {
    const { b, clock } = balancer([memberConfig('n1', { drainIdleSec: 10, activation: 'DIS' }), memberConfig('n2')]);
    const reg = new DrainRegistry();
    expect(b.members[0].disabledSince).toBe(clock.now());
    expect(checkDrains(b, reg, clock.now())).toEqual([]);
    clock.advance(10_000);
    expect(checkDrains(b, reg, clock.now())).toEqual([{ lb: 'lb', member: 'n1', reason: 'idle', afterSec: 10 }]);
  });
});

describe('drainExtras', () => {
  it('gives the status worker each member’s drain info under `drain`', () => {
    const reg = new DrainRegistry();
    const { b, clock } = balancer([memberConfig('n1', { drainIdleSec: 60 }), memberConfig('n2')]);
    stickyRequest(b, reg, clock, 'E1');
    b.setActivation(0, Act.DISABLED);
    clock.advance(15_000);
    const extras = drainExtras(reg, clock);
    expect(extras(b, b.members[0])).toEqual({
      drain: { sessions_seen: 1, last_sticky_ago: 15, drain_idle_time: 60, drain_deadline: 0, stop_in: 45, stop_reason: 'idle' },
    });
    expect(extras(b, b.members[1]).drain.stop_in).toBe(-1);
  });
});
