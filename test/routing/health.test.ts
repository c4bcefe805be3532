/**
 * Active health check results in the routing core (README "Health checks"): the pure record, and
 * Balancer.healthCheckResult moving a member through the same states as failed requests do.
 */
import { describe, expect, it } from 'vitest';
import type { HealthCheckConfig } from '../../src/config/model.js';
import { HealthRecord, type CheckResult } from '../../src/routing/health.js';
import { State } from '../../src/routing/types.js';
import { balancer, decide, drive, memberConfig, outcome, view } from './fixtures.js';

const PASS: CheckResult = { ok: true, latencyMs: 3, reason: '' };
const FAIL: CheckResult = { ok: false, latencyMs: 7, reason: 'status 503' };

const check = (o: Partial<HealthCheckConfig> = {}): HealthCheckConfig => ({
  method: 'GET', uri: '/health', host: '', expect: [[200, 399]], body: '',
  intervalMs: 1000, failIntervalMs: 500, timeoutMs: 200, fails: 2, passes: 3, ...o,
});

/** n1 health-checked (fails 2, passes 3), n2 not. */
function checked(lb = {}) {
  return balancer([memberConfig('n1', { type: 'http', healthCheck: check() }), memberConfig('n2', { type: 'http' })], lb, { maintainSec: 60 });
}

describe('HealthRecord', () => {
  const policy = { fails: 2, passes: 2 };

  it('keeps the last result and the counts in a row', () => {
    const h = new HealthRecord();
    expect(h.record(PASS, 1000, false, policy)).toBe('none');
    expect(h.record(FAIL, 2000, false, policy)).toBe('none');
    expect(h).toMatchObject({ lastTime: 2000, lastOk: false, lastLatencyMs: 7, lastReason: 'status 503', consecutiveFails: 1, consecutivePasses: 0, up: true });
    expect(h.record(FAIL, 3000, false, policy)).toBe('error');
    expect(h.record(FAIL, 4000, true, policy)).toBe('error');
    expect(h).toMatchObject({ consecutiveFails: 3, up: false, passesTotal: 1, failsTotal: 3 });
  });

  it('recovers only after `passes` passes made while in error, not a streak from before', () => {
    const h = new HealthRecord();
    for (let t = 0; t < 5; t++) h.record(PASS, t, false, policy);
    expect(h.consecutivePasses).toBe(5);
    expect(h.record(PASS, 10, true, policy)).toBe('none');
    expect(h.record(PASS, 11, true, policy)).toBe('recover');
  });

  it('a failure in between starts the passes again', () => {
    const h = new HealthRecord();
    h.record(PASS, 1, true, policy);
    h.record(FAIL, 2, true, policy);
    expect(h.record(PASS, 3, true, policy)).toBe('none');
    expect(h.record(PASS, 4, true, policy)).toBe('recover');
  });
});

describe('Balancer.healthCheckResult', () => {
  it('fails in a row put the member in ERROR with no request sent to it, and traffic avoids it', () => {
    const { b, clock } = checked();
    const n1 = b.members[0];
    expect(b.healthCheckResult(0, FAIL)).toBe('none');
    expect(n1.state).toBe(State.IDLE);
    clock.advance(500);
    expect(b.healthCheckResult(0, FAIL)).toBe('error');
    expect(n1.state).toBe(State.ERROR);
    expect([n1.firstErrorTime, n1.lastErrorTime]).toEqual([clock.t, clock.t]);
    // Not traffic: no request counter moved, and errors counts failed requests only.
    expect([n1.elected, n1.errors, n1.busy]).toEqual([0, 0, 0]);
    for (let k = 0; k < 4; k++) expect(decide(b)?.member).toBe('n2');
  });

  it('each further failure renews the error time, so recover_time counts from the last one', () => {
    const { b, clock } = checked({ recoverTimeSec: 60 });
    const n1 = b.members[0];
    b.healthCheckResult(0, FAIL);
    b.healthCheckResult(0, FAIL);
    const first = clock.t;
    clock.advance(50_000);
    expect(b.healthCheckResult(0, FAIL)).toBe('none'); // already in ERROR: no state change
    expect([n1.firstErrorTime, n1.lastErrorTime]).toEqual([first, clock.t]);
    clock.advance(20_000); // 70 s after the first failure, 20 s after the last
    b.maintain();
    expect(n1.state).toBe(State.ERROR);
    clock.advance(61_000);
    b.maintain();
    expect(n1.state).toBe(State.RECOVER);
    // A failed check while ERR/REC puts it back in ERROR, as a failed request would.
    expect(b.healthCheckResult(0, FAIL)).toBe('error');
    expect(n1.state).toBe(State.ERROR);
  });

  it('passes in a row bring it back to OK at the max lb_value, before recover_time', () => {
    const { b } = checked({ recoverTimeSec: 600 });
    const n1 = b.members[0];
    b.healthCheckResult(0, FAIL);
    b.healthCheckResult(0, FAIL);
    for (let k = 0; k < 5; k++) decide(b); // n2 takes the traffic meanwhile
    const max = b.members[1].lbValue;
    expect(b.healthCheckResult(0, PASS)).toBe('none');
    expect(b.healthCheckResult(0, PASS)).toBe('none');
    expect(n1.state).toBe(State.ERROR);
    expect(b.healthCheckResult(0, PASS)).toBe('recover');
    expect(n1.state).toBe(State.OK);
    expect([n1.lbValue, n1.firstErrorTime, n1.lastErrorTime]).toEqual([max, 0, 0]);
  });

  it('a member a failed request put in error also comes back by its checks', () => {
    const { b } = checked();
    const n1 = b.members[0];
    b.healthCheckResult(0, PASS); // a streak before the error does not count
    drive(b, view({ cookies: ['JSESSIONID=x.n1'] }), (m) => (m === 'n1' ? outcome('fail_status', { status: 500 }) : outcome('success')));
    expect(n1.state).toBe(State.ERROR);
    expect(n1.errors).toBe(1);
    b.healthCheckResult(0, PASS);
    b.healthCheckResult(0, PASS);
    expect(n1.state).toBe(State.ERROR);
    expect(b.healthCheckResult(0, PASS)).toBe('recover');
    expect(n1.state).toBe(State.OK);
  });

  it('forced recovery still happens when every member is in error', () => {
    const { b } = balancer([memberConfig('n1', { type: 'http', healthCheck: check({ fails: 1 }) })], {}, { maintainSec: 0 });
    b.healthCheckResult(0, FAIL);
    expect(b.members[0].state).toBe(State.ERROR);
    // The only member is forced back for the next request, as any member in error.
    expect(decide(b)?.member).toBe('n1');
    expect(b.members[0].state).toBe(State.OK);
  });

  it('a state change is shared with the other processes; a renewed error time is not', () => {
    const { b } = checked();
    const shared: number[] = [];
    b.stateShared = (i) => shared.push(i);
    b.healthCheckResult(0, FAIL);
    b.healthCheckResult(0, FAIL);
    b.healthCheckResult(0, FAIL);
    expect(shared).toEqual([0]);
    for (let k = 0; k < 3; k++) b.healthCheckResult(0, PASS);
    expect(shared).toEqual([0, 0]);
  });

  it('status reset restarts the counts; a reload keeps the record', () => {
    const { b } = checked();
    b.healthCheckResult(0, FAIL);
    b.reset(0);
    expect(b.members[0].health).toMatchObject({ consecutiveFails: 0, failsTotal: 0, lastOk: false, lastReason: 'status 503' });
    b.healthCheckResult(0, FAIL);
    const { b: next } = checked();
    next.carryOver(b);
    expect(next.healthCheckResult(0, FAIL)).toBe('error');
  });

  it('a member without checks refuses results', () => {
    const { b } = checked();
    expect(() => b.healthCheckResult(1, PASS)).toThrow(/no health checks/);
  });
});
