/**
 * The history rings (issue 17) without sockets: fixed memory whatever the number of samples, the
 * newest HISTORY_SLOTS kept oldest first across the wrap-around, rates from an interval's counts
 * and its real length, errors split by whose fault they are, percentiles from the duration buckets,
 * interval counts taken from the accumulators and summed over processes, and state changes as events.
 */
import { describe, expect, it } from 'vitest';
import { Accumulators, DURATION_BUCKETS, ERROR_KINDS } from '../../src/metrics/accumulators.js';
import { History, SampleRing, bucketQuantile } from '../../src/metrics/history.js';
import { CountsTaker, sumCounts, type IntervalCounts, type MemberCounts } from '../../src/metrics/interval-counts.js';
import { DrainRegistry } from '../../src/routing/drain.js';
import { Act, State } from '../../src/routing/types.js';
import { balancer, plain } from '../routing/fixtures.js';

const T0 = 1_700_000_000_000;

/** Buckets with `n` requests in the bucket whose upper bound is `bound` seconds. */
function durations(entries: [bound: number, n: number][]): number[] {
  const d = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  for (const [bound, n] of entries) {
    const i = (DURATION_BUCKETS as readonly number[]).indexOf(bound);
    d[i < 0 ? DURATION_BUCKETS.length : i] += n;
  }
  return d;
}

function memberCounts(requests: number, errors: Partial<Record<(typeof ERROR_KINDS)[number], number>> = {}, d = durations([])): MemberCounts {
  return { requests, errors: ERROR_KINDS.map((k) => errors[k] ?? 0), durations: d };
}

describe('SampleRing', () => {
  it('holds the newest `slots` samples, oldest first, in memory allocated once', () => {
    const ring = new SampleRing(5);
    const bytes = ring.memoryBytes;
    const values = new Float64Array(9);
    for (let i = 1; i <= 13; i++) {
      values[0] = i;
      ring.push(T0 + i * 1000, 1000, values);
    }
    expect(ring.memoryBytes).toBe(bytes);
    expect(ring.size).toBe(5);
    const seen: number[] = [];
    ring.forEach(0, (time, _len, v) => seen.push((time - T0) / 1000, v[0]));
    expect(seen).toEqual([9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
    // `since` keeps the samples after that time only.
    const after: number[] = [];
    ring.forEach(T0 + 11_000, (time) => after.push((time - T0) / 1000));
    expect(after).toEqual([12, 13]);
  });
});

describe('bucketQuantile', () => {
  it('interpolates within the bucket that holds the rank', () => {
    // 10 requests ≤ 5 ms, 10 in (5, 10] ms: the median is at the top of the first bucket, p95 at 9.5 ms.
    const d = durations([[0.005, 10], [0.01, 10]]);
    expect(bucketQuantile(d, 0.5)).toBeCloseTo(0.005, 9);
    expect(bucketQuantile(d, 0.95)).toBeCloseTo(0.0095, 9);
  });
  it('nothing counted: NaN; beyond the last bound: the last bound', () => {
    expect(bucketQuantile(durations([]), 0.5)).toBeNaN();
    expect(bucketQuantile(durations([[Infinity, 3]]), 0.95)).toBe(60);
  });
});

describe('History', () => {
  function setUp(slots = 720) {
    const { b, clock } = balancer(plain(2), {}, { clock: undefined });
    clock.t = T0;
    const balancers = new Map([['lb', b]]);
    const drains = new DrainRegistry();
    const history = new History(5000, T0, slots);
    return { b, clock, balancers, drains, history };
  }
  const counts = (n1: MemberCounts, n2: MemberCounts, extra: { requests?: number; noMember?: number } = {}): IntervalCounts => ({
    lb: { requests: extra.requests ?? n1.requests + n2.requests, noMember: extra.noMember ?? 0, members: { n1, n2 } },
  });

  it('rates are counts over the real length of each interval; errors by fault; the lb sums its members', () => {
    const { clock, balancers, drains, history } = setUp();
    clock.t = T0 + 5000;
    const n1 = memberCounts(50, { connect: 2, reply_timeout: 3, client_error: 4, too_large: 1, local: 5 }, durations([[0.005, 25], [0.01, 25]]));
    history.record(clock.t, balancers, counts(n1, memberCounts(0), { requests: 56, noMember: 6 }), drains);
    // The next sample comes late: 10 s of counts are 10 s of rate.
    clock.t += 10_000;
    history.record(clock.t, balancers, counts(memberCounts(20), memberCounts(40)), drains);

    const json = history.toJson(balancers, { lb: null, member: null, sinceMs: 0 }, clock.t);
    expect([json.interval_ms, json.slots, json.now]).toEqual([5000, 720, clock.t]);
    const [lb] = json.balancers;
    const [m1, m2] = lb.members;
    expect(m1.samples.time).toEqual([T0 + 5000, T0 + 15_000]);
    expect(m1.samples.seconds).toEqual([5, 10]);
    expect(m1.samples.requests_per_sec).toEqual([10, 2]);
    expect(m2.samples.requests_per_sec).toEqual([0, 4]);
    expect(m1.samples.member_errors_per_sec).toEqual([1, 0]);
    expect(m1.samples.client_errors_per_sec).toEqual([1, 0]);
    expect(m1.samples.balancer_errors_per_sec).toEqual([1, 0]);
    expect(m1.samples.p50_ms).toEqual([5, null]);
    expect(m1.samples.p95_ms).toEqual([9.5, null]);
    expect(lb.samples.requests_per_sec).toEqual([11.2, 6]);
    expect(lb.samples.no_member_per_sec).toEqual([1.2, 0]);
    expect(lb.samples.member_errors_per_sec).toEqual([1, 0]);
    expect(lb.samples.p50_ms).toEqual([5, null]);
    expect('no_member_per_sec' in m1.samples).toBe(false);
  });

  it('latency of an lb merges its members\' buckets, it does not average their percentiles', () => {
    const { clock, balancers, drains, history } = setUp();
    clock.t += 5000;
    // n1: 90 fast requests; n2: 10 slow ones. Averaging the medians would give ~1.2 s.
    history.record(clock.t, balancers, counts(memberCounts(90, {}, durations([[0.005, 90]])), memberCounts(10, {}, durations([[2.5, 10]]))), drains);
    const [lb] = history.toJson(balancers, { lb: 'lb', member: null, sinceMs: 0 }, clock.t).balancers;
    expect(lb.samples.p50_ms[0]).toBeLessThanOrEqual(5);
    expect(lb.samples.p95_ms[0]).toBeGreaterThan(1000);
  });

  it('busy and the sticky sessions of the drain window are read at the sample', () => {
    const { b, clock, balancers, drains, history } = setUp();
    const t = drains.trackersOf(b)[1];
    t.record('s1', clock.t);
    t.record('s2', clock.t);
    clock.t += 5000;
    history.record(clock.t, balancers, {}, drains);
    const json = history.toJson(balancers, { lb: 'lb', member: 'n2', sinceMs: 0 }, clock.t);
    expect(json.balancers[0].members.map((m) => m.name)).toEqual(['n2']);
    expect(json.balancers[0].members[0].samples.sessions).toEqual([2]);
    expect(json.balancers[0].samples.sessions).toEqual([2]);
    expect(json.balancers[0].members[0].samples.requests_per_sec).toEqual([0]);
  });

  it('memory stays fixed over many hours of samples; the ring wraps to the newest', () => {
    const { clock, balancers, drains, history } = setUp(720);
    clock.t += 5000;
    history.record(clock.t, balancers, {}, drains);
    const bytes = history.memoryBytes;
    expect(bytes).toBeGreaterThan(0);
    for (let i = 2; i <= 720 * 3 + 7; i++) {
      clock.t += 5000;
      history.record(clock.t, balancers, counts(memberCounts(i * 5), memberCounts(0)), drains);
    }
    expect(history.memoryBytes).toBe(bytes);
    const m1 = history.toJson(balancers, { lb: 'lb', member: 'n1', sinceMs: 0 }, clock.t).balancers[0].members[0];
    expect(m1.samples.time).toHaveLength(720);
    expect(m1.samples.requests_per_sec.at(-1)).toBe(720 * 3 + 7);
    expect(m1.samples.requests_per_sec[0]).toBe(720 * 2 + 8);
    expect(m1.samples.time[0]).toBe(clock.t - 719 * 5000);
  });

  it('activation and error states are events; OK/IDLE, OK and OK/BUSY alternating are not', () => {
    const { b, clock, balancers, drains, history } = setUp();
    history.noteChanges(clock.t, balancers);
    clock.t += 1000;
    b.members[0].state = State.BUSY;
    history.noteChanges(clock.t, balancers);
    clock.t += 1000;
    b.setActivation(0, Act.DISABLED);
    history.noteChanges(clock.t, balancers);
    const disabledAt = clock.t;
    clock.t += 1000;
    b.members[1].state = State.ERROR;
    history.record(clock.t, balancers, {}, drains);
    const [m1, m2] = history.toJson(balancers, { lb: null, member: null, sinceMs: 0 }, clock.t).balancers[0].members;
    expect(m1.events).toEqual([{ time: disabledAt, field: 'activation', old: 'ACT', new: 'DIS' }]);
    expect(m2.events).toEqual([{ time: clock.t, field: 'state', old: 'OK/IDLE', new: 'ERR' }]);
    // `since` leaves out what the caller already has.
    expect(history.toJson(balancers, { lb: null, member: null, sinceMs: disabledAt }, clock.t).balancers[0].members[0].events).toEqual([]);
  });

  it('prune forgets the members a reload removed; the others keep their samples', () => {
    const { clock, balancers, drains, history } = setUp();
    clock.t += 5000;
    history.record(clock.t, balancers, counts(memberCounts(5), memberCounts(5)), drains);
    const { b: smaller } = balancer(plain(1));
    const after = new Map([['lb', smaller]]);
    history.prune(after);
    const json = history.toJson(after, { lb: null, member: null, sinceMs: 0 }, clock.t);
    expect(json.balancers[0].members.map((m) => [m.name, m.samples.requests_per_sec])).toEqual([['n1', [1]]]);
  });
});

describe('interval counts', () => {
  it('each take is what the accumulators counted since the previous one', () => {
    const { b } = balancer(plain(2));
    const acc = new Accumulators(() => new Map([['lb', b]]));
    const taker = new CountsTaker(acc);
    acc.requestEnd('lb', 'n1', 200, 0.004, false);
    acc.requestEnd('lb', 'n1', 500, 0.2, false);
    acc.attemptEnd('lb', 'n2', 'connect', 0, 0);
    acc.requestEnd('lb', '', 503, 0.001, true);
    const first = taker.take();
    expect(first.lb.requests).toBe(3);
    expect(first.lb.noMember).toBe(1);
    expect(first.lb.members.n1.requests).toBe(2);
    expect(first.lb.members.n1.durations).toEqual(durations([[0.005, 1], [0.25, 1]]));
    expect(first.lb.members.n2.errors[ERROR_KINDS.indexOf('connect')]).toBe(1);
    acc.requestEnd('lb', 'n1', 200, 0.004, false);
    const second = taker.take();
    expect([second.lb.requests, second.lb.members.n1.requests, second.lb.members.n2.errors.reduce((a, x) => a + x)]).toEqual([1, 1, 0]);
  });

  it('sums the processes\' counts member by member and bucket by bucket', () => {
    const a: IntervalCounts = { lb: { requests: 3, noMember: 1, members: { n1: memberCounts(2, { read: 1 }, durations([[0.005, 2]])) } } };
    const b: IntervalCounts = { lb: { requests: 4, noMember: 0, members: { n1: memberCounts(4, { read: 2 }, durations([[0.005, 1], [1, 3]])), n2: memberCounts(0) } } };
    const sum = sumCounts([a, b]);
    expect(sum.lb.requests).toBe(7);
    expect(sum.lb.noMember).toBe(1);
    expect(sum.lb.members.n1.requests).toBe(6);
    expect(sum.lb.members.n1.errors[ERROR_KINDS.indexOf('read')]).toBe(3);
    expect(sum.lb.members.n1.durations).toEqual(durations([[0.005, 3], [1, 3]]));
    expect(sum.lb.members.n2.requests).toBe(0);
  });
});
