/** The retry loop (docs/load-balancing.md#request-loop, #retries) and recoverability (#attempt-outcomes). */
import { describe, expect, it } from 'vitest';
import { outcomeRecoverable } from '../../src/routing/outcome.js';
import { State, type OutcomeKind } from '../../src/routing/types.js';
import { balancer, drive, hold, memberConfig, OK, outcome, plain, view } from './fixtures.js';

describe('retry arithmetic (docs/load-balancing.md#retries)', () => {
  it('two dead members, defaults: A, B, wait, forced recovery, A, B, 503', () => {
    const { b, clock } = balancer([memberConfig('A'), memberConfig('B')]);
    const { trace, request } = drive(b, view(), () => outcome('connect'), clock);
    expect(trace).toEqual(['A', 'B', 'wait 100', 'A', 'B', 'done 503 connect']);
    expect(request.forced).toBe(true);
    expect(b.members.map((m) => [m.state, m.errors, m.elected])).toEqual([
      [State.ERROR, 2, 2],
      [State.ERROR, 2, 2],
    ]);
    // Every later request repeats the forced pass; "no member" results use the remaining slots.
    expect(drive(b, view(), () => outcome('connect'), clock).trace).toEqual(['A', 'B', 'wait 100', 'done 503 no_member']);
  });

  it('the forced pass of a later request happens in its first round', () => {
    const { b, clock } = balancer([memberConfig('A'), memberConfig('B')]);
    drive(b, view(), () => outcome('connect'), clock);
    const { trace } = drive(b, view(), (m) => (m === 'B' ? OK : outcome('connect')), clock);
    expect(trace).toEqual(['A', 'B', 'done 200 connect']);
  });

  it('a round holds min(lb_retries, members) attempt slots', () => {
    const one = balancer(plain(3), { lbRetries: 1, retries: 3 });
    expect(drive(one.b, view(), () => outcome('read'), one.clock).trace).toEqual(['n1', 'wait 100', 'n2', 'wait 100', 'n3', 'done 502 read']);
    const many = balancer(plain(2), { lbRetries: 5, retries: 2, errorEscalationTimeSec: 0 });
    expect(drive(many.b, view(), () => outcome('read'), many.clock).trace).toEqual(['n1', 'n2', 'wait 100', 'n1', 'n2', 'done 502 read']);
  });

  it('forced recovery uses no slot; the final status is the last attempt’s', () => {
    const { b, clock } = balancer(plain(3), { lbRetries: 3, retries: 1 });
    b.members[2].state = State.BUSY;
    b.members[2].busy = 1; // pool full: stays BUSY
    const { trace } = drive(b, view(), (m) => (m === 'n1' ? outcome('reply_timeout') : outcome('read')), clock);
    // n1 and n2 fail globally; the third slot finds nobody, so forced recovery brings both back
    // (without using the slot) and n1 takes it.
    expect(trace).toEqual(['n1', 'n2', 'n1', 'done 504 reply_timeout']);
  });

  it('waits retry_interval between rounds and refreshes the local states after the wait', () => {
    const { b, clock } = balancer(plain(2), { retryIntervalMs: 250 });
    const busy1 = hold(b, view({ cookies: ['JSESSIONID=s.n1'] }));
    const busy2 = hold(b, view({ cookies: ['JSESSIONID=s.n2'] }));
    // Both fail locally for this request (others in flight): shared states stay OK.
    let calls = 0;
    const { trace } = drive(b, view(), () => (++calls <= 2 ? outcome('connect') : OK), clock);
    expect(trace).toEqual(['n1', 'n2', 'wait 250', 'n1', 'done 200 connect']);
    b.endAttempt(busy1.r, busy1.member, OK);
    b.endAttempt(busy2.r, busy2.member, OK);
  });

  it('retry_interval 0 goes straight to the next round', () => {
    const { b } = balancer(plain(1), { retryIntervalMs: 0, retries: 3, errorEscalationTimeSec: 0 });
    const other = hold(b);
    const { trace } = drive(b, view(), () => outcome('protocol'));
    expect(trace).toEqual(['n1', 'n1', 'n1', 'done 502 protocol']);
    b.endAttempt(other.r, other.member, OK);
  });

  it('a non-recoverable outcome ends the request with its status', () => {
    const { b } = balancer(plain(2));
    const { trace } = drive(b, view(), () => outcome('read', { responseStarted: true }));
    expect(trace).toEqual(['n1', 'done 502 read']);
    const { b: b2 } = balancer(plain(2));
    expect(drive(b2, view(), () => outcome('connect', { bodyReplayable: false })).trace).toEqual(['n1', 'done 503 connect']);
  });

  it('rejects calls out of order', () => {
    const { b } = balancer(plain(2));
    const r = b.begin(view());
    const s = b.next(r);
    expect(() => b.next(r)).toThrow(/pending/);
    expect(() => b.endAttempt(r, 0, OK)).toThrow(/startAttempt/);
    expect(() => b.startAttempt(r, 1)).toThrow(/attempt step/);
    if (s.kind !== 'attempt') throw new Error('expected an attempt');
    b.startAttempt(r, s.member);
    b.endAttempt(r, s.member, OK);
    expect(b.next(r)).toEqual({ kind: 'done', status: 200, reason: '' });
    expect(b.next(r)).toEqual({ kind: 'done', status: 200, reason: '' });
  });

  it('hands the local-state array back after done and reuses it', () => {
    const { b } = balancer(plain(2));
    const first = drive(b, view(), () => OK).request;
    expect(first.local.length).toBe(0);
    const r = b.begin(view());
    expect(r.local.length).toBe(2);
  });
});

describe('recovery_options (docs/directives.md#member-connection, docs/load-balancing.md#attempt-outcomes)', () => {
  // [kind, recovery_options, method, recoverable]
  const table: [OutcomeKind, number, string, boolean][] = [
    ['read', 0, 'POST', true],
    ['read', 1, 'POST', false],
    ['read', 1, 'GET', false],
    ['read', 1 | 8, 'HEAD', true],
    ['read', 1 | 8, 'GET', false],
    ['read', 1 | 16, 'GET', true],
    ['read', 1 | 8 | 16, 'GET', true], // mod_jk ignores 16 when 8 is set; we do not
    ['read', 1 | 16, 'POST', false],
    ['reply_timeout', 1, 'POST', false],
    ['reply_timeout', 2, 'POST', true],
    ['protocol', 1, 'PUT', false],
    ['connect', 1, 'POST', true], // nothing reached the backend
    ['busy', 1, 'POST', true],
    ['fail_status', 1, 'POST', true],
    ['client_error', 0, 'GET', false],
    ['too_large', 0, 'GET', false],
    ['success', 0, 'GET', false],
  ];
  it.each(table)('%s with options %i on %s → %s', (kind, opts, method, want) => {
    expect(outcomeRecoverable(outcome(kind), opts, method)).toBe(want);
  });

  it('nothing is recoverable once the response head went out, or the body outgrew the replay buffer', () => {
    for (const kind of ['read', 'reply_timeout', 'protocol', 'connect', 'busy', 'fail_status'] as const) {
      expect(outcomeRecoverable(outcome(kind, { responseStarted: true }), 8 | 16, 'GET')).toBe(false);
      expect(outcomeRecoverable(outcome(kind, { bodyReplayable: false }), 0, 'GET')).toBe(false);
    }
  });

  it('the balancer honours the member’s recovery_options for the request method', () => {
    const { b } = balancer([memberConfig('n1', { recoveryOptions: 1 | 16 }), memberConfig('n2', { recoveryOptions: 1 | 16 })]);
    expect(drive(b, view({ method: 'POST' }), () => outcome('read')).trace).toEqual(['n1', 'done 502 read']);
    const { b: b2 } = balancer([memberConfig('n1', { recoveryOptions: 1 | 16 }), memberConfig('n2')]);
    expect(drive(b2, view({ method: 'GET' }), (m) => (m === 'n1' ? outcome('read') : OK)).trace).toEqual(['n1', 'n2', 'done 200 read']);
  });
});
