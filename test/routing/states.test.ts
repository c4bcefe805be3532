/**
 * Member states and error handling (docs/load-balancing.md#eligibility, #state-transitions to
 * #client-errors), forced recovery (#forced-recovery), busy handling.
 */
import { describe, expect, it } from 'vitest';
import { usable, usableSticky } from '../../src/routing/eligibility.js';
import { Act, State, STATE_NAMES, type ActCode, type StateCode } from '../../src/routing/types.js';
import { balancer, decide, drive, hold, memberConfig, OK, outcome, plain, view } from './fixtures.js';

/** A request whose session belongs to n1. */
const toN1 = view({ cookies: ['JSESSIONID=s.n1'] });

const states: StateCode[] = [State.IDLE, State.OK, State.RECOVER, State.FORCE, State.BUSY, State.ERROR, State.PROBE];
const acts: ActCode[] = [Act.ACTIVE, Act.DISABLED, Act.STOPPED];

describe('eligibility table (docs/load-balancing.md#eligibility)', () => {
  // [state, new requests usable (when ACT), sticky usable (when ACT or DIS)]
  const table: [StateCode, boolean][] = [
    [State.IDLE, true],
    [State.OK, true],
    [State.RECOVER, true],
    [State.FORCE, true],
    [State.BUSY, false],
    [State.ERROR, false],
    [State.PROBE, false],
  ];
  it.each(table)('state %s', (state, ok) => {
    expect(usable(state, Act.ACTIVE)).toBe(ok);
    expect(usable(state, Act.DISABLED)).toBe(false);
    expect(usable(state, Act.STOPPED)).toBe(false);
    expect(usableSticky(state, Act.ACTIVE)).toBe(ok);
    expect(usableSticky(state, Act.DISABLED)).toBe(ok);
    expect(usableSticky(state, Act.STOPPED)).toBe(false);
  });

  // The same table through the balancer: n1 in each state/activation, a sticky and a new request.
  const cases = states.flatMap((s) => acts.map((a) => [s, a] as const));
  it.each(cases)('balancer with n1 in state %s, activation %s', (state, act) => {
    const { b } = balancer(plain(2), {}, { maintainSec: 0 });
    b.members[0].state = state;
    b.setActivation(0, act);
    if (state === State.BUSY) b.members[0].busy = 1; // pool full, so begin() does not release it
    const stateOk = state <= State.FORCE;
    const sticky = decide(b, view({ cookies: ['JSESSIONID=x.n1'] }))!;
    expect(sticky.member).toBe(stateOk && act !== Act.STOPPED ? 'n1' : 'n2');
    b.members[0].state = state; // the sticky attempt may have moved it (RECOVER → PROBE → OK)
    for (const m of b.members) m.lbValue = 0;
    b.lb.nextOffset = 0;
    expect(decide(b)!.member).toBe(stateOk && act === Act.ACTIVE ? 'n1' : 'n2');
    expect(STATE_NAMES[state]).toBeTypeOf('string');
  });
});

describe('outcomes and member state (docs/load-balancing.md#state-transitions, #attempt-outcomes)', () => {
  it('success clears the error times and sets OK', () => {
    const { b, clock } = balancer(plain(2));
    b.members[0].firstErrorTime = clock.now() - 1000;
    b.members[0].lastErrorTime = clock.now() - 1000;
    const { trace } = drive(b, view(), () => outcome('success', { status: 201 }));
    expect(trace).toEqual(['n1', 'done 201']);
    expect([b.members[0].state, b.members[0].firstErrorTime, b.members[0].lastErrorTime]).toEqual([State.OK, 0, 0]);
  });

  it('a connect failure with nothing else in flight puts the member into global ERROR', () => {
    const { b, clock } = balancer(plain(2));
    const { trace } = drive(b, view(), (m) => (m === 'n1' ? outcome('connect') : OK));
    expect(trace).toEqual(['n1', 'n2', 'done 200 connect']);
    const n1 = b.members[0];
    expect([n1.state, n1.errors, n1.firstErrorTime, n1.lastErrorTime]).toEqual([State.ERROR, 1, clock.now(), clock.now()]);
  });

  it('a failure while other requests are in flight on the member stays local until error_escalation_time', () => {
    const { b, clock } = balancer(plain(2), { errorEscalationTimeSec: 30 });
    const other = hold(b, toN1); // a request in flight on n1
    const t0 = clock.now();
    const { trace } = drive(b, toN1, (m) => (m === 'n1' ? outcome('read') : OK));
    expect(trace).toEqual(['n1', 'n2', 'done 200 read']);
    const n1 = b.members[0];
    expect(n1.state).toBe(State.OK); // local error: other requests still use n1
    expect([n1.errors, n1.firstErrorTime]).toEqual([1, t0]);
    clock.advance(29_999);
    drive(b, toN1, (m) => (m === 'n1' ? outcome('read') : OK));
    expect([n1.state, n1.errors, n1.firstErrorTime, n1.lastErrorTime]).toEqual([State.OK, 2, t0, clock.now()]);
    clock.advance(1);
    drive(b, toN1, (m) => (m === 'n1' ? outcome('read') : OK));
    expect([n1.state, n1.errors]).toEqual([State.ERROR, 3]);
    b.endAttempt(other.r, other.member, OK);
  });

  it('a success clears a local error', () => {
    const { b } = balancer(plain(2));
    const other = hold(b, toN1);
    drive(b, toN1, (m) => (m === 'n1' ? outcome('connect') : OK));
    expect(b.members[0].firstErrorTime).toBeGreaterThan(0);
    expect(decide(b, toN1)!.member).toBe('n1');
    expect([b.members[0].state, b.members[0].firstErrorTime]).toEqual([State.OK, 0]);
    b.endAttempt(other.r, other.member, OK);
  });

  it('error_escalation_time 0 makes every generic error global', () => {
    const { b } = balancer(plain(2), { errorEscalationTimeSec: 0 });
    const other = hold(b, toN1);
    drive(b, toN1, (m) => (m === 'n1' ? outcome('connect') : OK));
    expect(b.members[0].state).toBe(State.ERROR);
    b.endAttempt(other.r, other.member, OK);
  });

  it('maintenance escalates a lingering local error to ERROR', () => {
    const { b, clock } = balancer(plain(2), { errorEscalationTimeSec: 30 }, { maintainSec: 60 });
    const other = hold(b, toN1);
    drive(b, toN1, (m) => (m === 'n1' ? outcome('connect') : OK));
    b.endAttempt(other.r, other.member, outcome('protocol')); // no success in between
    expect(b.members[0].state).toBe(State.OK);
    clock.advance(60_000);
    b.maintain();
    expect(b.members[0].state).toBe(State.ERROR);
  });

  it('a client error clears the error times (no escalation later)', () => {
    const { b, clock } = balancer(plain(2), { errorEscalationTimeSec: 30 }, { maintainSec: 60 });
    const other = hold(b, toN1);
    drive(b, toN1, (m) => (m === 'n1' ? outcome('connect') : OK));
    b.endAttempt(other.r, other.member, outcome('client_error'));
    expect(b.members[0].firstErrorTime).toBe(0);
    clock.advance(60_000);
    b.maintain();
    expect(b.members[0].state).not.toBe(State.ERROR);
  });

  it('reply timeouts become a global error only above max_reply_timeouts', () => {
    const { b } = balancer(plain(2), { maxReplyTimeouts: 1 });
    const timeout = (m: string) => (m === 'n1' ? outcome('reply_timeout') : OK);
    expect(drive(b, toN1, timeout).trace).toEqual(['n1', 'n2', 'done 200 reply_timeout']);
    expect([b.members[0].state, b.members[0].replyTimeouts, b.members[0].errors]).toEqual([State.OK, 1, 0]);
    drive(b, toN1, timeout);
    expect([b.members[0].state, b.members[0].replyTimeouts, b.members[0].errors]).toEqual([State.ERROR, 2, 1]);
  });

  it('fail_on_status: positive → ERROR, negative → fail over with the member left OK', () => {
    const { b } = balancer(plain(2));
    const hard = drive(b, view(), (m) => (m === 'n1' ? outcome('fail_status', { status: 500 }) : OK));
    expect(hard.trace).toEqual(['n1', 'n2', 'done 200 fail_status']);
    expect([b.members[0].state, b.members[0].errors]).toEqual([State.ERROR, 1]);
    const { b: b2 } = balancer(plain(2));
    const soft = drive(b2, view(), (m) => (m === 'n1' ? outcome('fail_status', { status: -404 }) : OK));
    expect(soft.trace).toEqual(['n1', 'n2', 'done 200 fail_status']);
    expect([b2.members[0].state, b2.members[0].errors]).toEqual([State.OK, 0]);
  });

  it('client errors never fail over and never mark the member', () => {
    const { b } = balancer(plain(2));
    expect(drive(b, view(), () => outcome('client_error')).trace).toEqual(['n1', 'done 400 client_error']);
    expect(drive(b, view(), () => outcome('too_large')).trace).toEqual(['n2', 'done 413 too_large']);
    expect(b.members.map((m) => [m.state, m.clientErrors, m.errors])).toEqual([[State.OK, 1, 0], [State.OK, 1, 0]]);
  });

  it('a protocol error is local only and ends in 502 when it is the last attempt', () => {
    const { b } = balancer(plain(2), { retries: 1 });
    expect(drive(b, view(), () => outcome('protocol')).trace).toEqual(['n1', 'n2', 'done 502 protocol']);
    expect(b.members.map((m) => [m.state, m.errors])).toEqual([[State.OK, 0], [State.OK, 0]]);
  });

  it('RECOVER → PROBE while probed: nobody else uses it; success → OK', () => {
    const { b } = balancer(plain(2));
    b.members[0].state = State.RECOVER;
    const probe = hold(b);
    expect([probe.member, b.members[0].state]).toEqual([0, State.PROBE]);
    expect(decide(b, view({ cookies: ['JSESSIONID=s.n1'] }))!.member).toBe('n2'); // not even sticky
    b.endAttempt(probe.r, probe.member, OK);
    expect(b.members[0].state).toBe(State.OK);
  });

  it('a failed probe goes straight back to ERROR', () => {
    const { b, clock } = balancer(plain(2));
    const n1 = b.members[0];
    n1.state = State.RECOVER;
    n1.firstErrorTime = clock.now() - 120_000;
    drive(b, view(), (m) => (m === 'n1' ? outcome('connect') : OK));
    expect(n1.state).toBe(State.ERROR);
  });
});

describe('busy handling', () => {
  it('busy_limit: a member at its limit is refused (BUSY, slot used) and the request fails over', () => {
    const { b } = balancer([memberConfig('n1', { busyLimit: 1, connectionPoolSize: 10 }), memberConfig('n2')]);
    const first = hold(b);
    expect(first.member).toBe(0);
    const r = b.begin(view({ cookies: ['JSESSIONID=s.n1'] }));
    const s = b.next(r);
    expect(s).toEqual({ kind: 'attempt', member: 0 });
    expect(b.startAttempt(r, 0)).toBeNull();
    expect([b.members[0].state, r.attempts, r.reason, b.members[0].elected]).toEqual([State.BUSY, 1, 'busy_limit', 1]);
    expect(b.next(r)).toEqual({ kind: 'attempt', member: 1 });
    expect(b.startAttempt(r, 1)).not.toBeNull();
    b.endAttempt(r, 1, OK);
    // Still busy at the next request's start: stays BUSY. Released once below the limit.
    expect(decide(b)!.member).toBe('n2');
    expect(b.members[0].state).toBe(State.BUSY);
    b.endAttempt(first.r, first.member, OK);
    expect(b.members[0].state).toBe(State.OK);
    b.members[0].state = State.BUSY;
    b.lb.nextOffset = 0;
    expect(decide(b)!.member).toBe('n1');
  });

  it('a busy outcome (no pool connection) marks BUSY and fails over with 503', () => {
    const { b } = balancer(plain(2), { retries: 1 });
    expect(drive(b, view(), () => outcome('busy')).trace).toEqual(['n1', 'n2', 'done 503 busy']);
    expect(b.members.map((m) => m.state)).toEqual([State.BUSY, State.BUSY]);
  });

  it('a busy outcome does not take a member out of global ERROR (docs/load-balancing.md#one-attempt: any but ERROR → BUSY)', () => {
    const { b } = balancer([memberConfig('n1', { connectionPoolSize: 10 }), memberConfig('n2')], { errorEscalationTimeSec: 0 });
    const waiting = hold(b, toN1); // in flight on n1, will find no pool connection
    drive(b, toN1, (m) => (m === 'n1' ? outcome('connect') : OK)); // meanwhile n1 fails: global ERROR
    expect(b.members[0].state).toBe(State.ERROR);
    b.endAttempt(waiting.r, waiting.member, outcome('busy'));
    expect(b.members[0].state).toBe(State.ERROR);
    // Had it become BUSY, the next request would release it to OK and send its session there.
    expect(decide(b, toN1)!.member).toBe('n2');
  });

  it('BUSY is released at begin only when in-flight attempts are below the pool size', () => {
    const { b } = balancer([memberConfig('n1', { connectionPoolSize: 1 }), memberConfig('n2')]);
    const first = hold(b);
    b.members[0].state = State.BUSY;
    b.begin(view());
    expect(b.members[0].state).toBe(State.BUSY);
    b.endAttempt(first.r, first.member, OK);
    b.members[0].state = State.BUSY;
    b.begin(view());
    expect(b.members[0].state).toBe(State.OK);
  });
});

describe('forced recovery (docs/load-balancing.md#forced-recovery)', () => {
  it('when no member is selectable, every ERROR member becomes FORCE once per request, without using a slot', () => {
    const { b } = balancer([...plain(2), memberConfig('n3', { activation: 'STP' })]);
    b.members[0].state = State.ERROR;
    b.members[1].state = State.ERROR;
    const r = b.begin(view());
    expect(b.next(r)).toEqual({ kind: 'attempt', member: 0 });
    expect([r.path, r.attempts, r.forced]).toEqual(['forced', 0, true]);
    expect(b.members.map((m) => m.state)).toEqual([State.FORCE, State.FORCE, State.IDLE]);
    expect(b.members[2].activation).toBe(Act.STOPPED);
    b.startAttempt(r, 0);
    b.endAttempt(r, 0, OK);
    expect(b.next(r)).toEqual({ kind: 'done', status: 200, reason: '' });
  });

  it('a local-only failure is not forced back within the request', () => {
    const { b } = balancer(plain(2), { retries: 1 });
    const other1 = hold(b);
    const other2 = hold(b);
    expect([other1.member, other2.member]).toEqual([0, 1]);
    // Both fail locally (others in flight): shared states stay OK, nothing to force.
    const { trace } = drive(b, view(), () => outcome('read'));
    expect(trace).toEqual(['n1', 'n2', 'done 502 read']);
    expect(b.members.map((m) => m.state)).toEqual([State.OK, State.OK]);
  });

  it('maintenance forces recovery when nothing non-error is left', () => {
    const { b, clock } = balancer(plain(2), {}, { maintainSec: 60 });
    for (const m of b.members) {
      m.state = State.ERROR;
      m.lastErrorTime = clock.now();
      m.firstErrorTime = clock.now();
      m.replyTimeouts = 2;
    }
    clock.advance(60_000);
    b.maintain();
    expect(b.members.map((m) => [m.state, m.replyTimeouts])).toEqual([[State.FORCE, 0], [State.FORCE, 0]]);
  });

  it('maintenance turns OK members that were not used during the interval into IDLE', () => {
    const { b, clock } = balancer(plain(2), {}, { maintainSec: 60 });
    decide(b);
    decide(b);
    expect(b.members.map((m) => m.state)).toEqual([State.OK, State.OK]);
    clock.advance(60_000);
    b.maintain(); // both were used since the last snapshot
    expect(b.members.map((m) => m.state)).toEqual([State.OK, State.OK]);
    clock.advance(60_000);
    b.lb.nextOffset = 0;
    decide(b, view({ cookies: ['JSESSIONID=s.n1'] }));
    b.maintain();
    expect(b.members.map((m) => m.state)).toEqual([State.OK, State.IDLE]);
  });
});
