/**
 * The record of one member's active health checks (README "Health checks"): the last result and the
 * counts in a row that decide what a result does to the member. Pure: the checker
 * (proxy/health-check.ts) measures, Balancer.healthCheckResult records here and applies the verdict
 * to the member's state.
 */
import { State, type StateCode } from './types.js';

/** One check, as the checker saw it. */
export interface CheckResult {
  readonly ok: boolean;
  /** From the start of the connect to the verdict. */
  readonly latencyMs: number;
  /** Why it failed ('' when it passed). */
  readonly reason: string;
}

/** How many results in a row count (the member's `health_check_fails` / `health_check_passes`). */
export interface HealthPolicy {
  readonly fails: number;
  readonly passes: number;
}

/**
 * What a result asks of the member: put it in ERROR (again: a failed request would too), bring it
 * back from an error state, or nothing.
 */
export type HealthVerdict = 'none' | 'error' | 'recover';

/** ERR, ERR/REC, ERR/FRC, ERR/PRB: the states passing checks bring a member back from. */
export function inErrorState(s: StateCode): boolean {
  return s === State.ERROR || s === State.RECOVER || s === State.FORCE || s === State.PROBE;
}

export class HealthRecord {
  /** When the last result came (ms since the epoch); 0 = never checked. */
  lastTime = 0;
  lastOk = false;
  lastLatencyMs = 0;
  lastReason = '';
  consecutivePasses = 0;
  consecutiveFails = 0;
  /**
   * Passes in a row while the member was in error: a member that went to ERROR (by its checks or by
   * a failed request) needs `passes` checks after that, not a streak from before.
   */
  passesInError = 0;
  /** The checks' own verdict: false once `fails` failed in a row, true again after `passes` passed. */
  up = true;
  passesTotal = 0;
  failsTotal = 0;

  /** Records `r`; `inError` is the member's state before it. */
  record(r: CheckResult, now: number, inError: boolean, policy: HealthPolicy): HealthVerdict {
    this.lastTime = now;
    this.lastOk = r.ok;
    this.lastLatencyMs = r.latencyMs;
    this.lastReason = r.reason;
    if (r.ok) {
      this.passesTotal++;
      this.consecutivePasses++;
      this.consecutiveFails = 0;
      this.passesInError = inError ? this.passesInError + 1 : 0;
      if (this.consecutivePasses >= policy.passes) this.up = true;
      return inError && this.passesInError >= policy.passes ? 'recover' : 'none';
    }
    this.failsTotal++;
    this.consecutiveFails++;
    this.consecutivePasses = 0;
    this.passesInError = 0;
    if (this.consecutiveFails < policy.fails) return 'none';
    this.up = false;
    return 'error';
  }

  /** Status "reset": counts start again (the last result stays: it is a fact, not a counter). */
  reset(): void {
    this.consecutivePasses = 0;
    this.consecutiveFails = 0;
    this.passesInError = 0;
    this.up = true;
    this.passesTotal = 0;
    this.failsTotal = 0;
  }
}
