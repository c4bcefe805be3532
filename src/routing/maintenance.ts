/**
 * Maintenance (docs/load-balancing.md#maintenance): lb_value decay, recovery of ERROR members after
 * recover_time, escalation of lingering local errors, idle detection; and forced recovery
 * (docs/load-balancing.md#forced-recovery).
 */
import type { MemberRuntime } from './member.js';
import { Method, State, type MethodCode } from './types.js';
import { usable } from './eligibility.js';

/** v >> k for a 53-bit value; shifts of 53 or more leave nothing (C's >= 64 is undefined; clamp). */
export function shiftRight(v: number, k: number): number {
  if (k <= 0) return v;
  return k >= 53 ? 0 : Math.floor(v / 2 ** k);
}

/** Halves lb_value (and reply-timeout counters) per elapsed interval; Next subtracts the minimum. Returns the max lb_value. */
export function decay(members: readonly MemberRuntime[], method: MethodCode, k: number): number {
  let curmax = 0;
  for (const m of members) {
    if (method !== Method.BUSYNESS) {
      if (method !== Method.NEXT) m.lbValue = shiftRight(m.lbValue, k);
      if (m.lbValue > curmax) curmax = m.lbValue;
    }
    m.replyTimeouts = shiftRight(m.replyTimeouts, k);
  }
  if (method === Method.NEXT) {
    // Minimum over members usable for new requests by shared state and configured activation
    // (rule-level activations cannot be known here).
    let curmin = -1;
    for (const m of members) {
      if (usable(m.state, m.activation) && (curmin < 0 || m.lbValue < curmin)) curmin = m.lbValue;
    }
    if (curmin > 0) for (const m of members) m.lbValue = m.lbValue >= curmin ? m.lbValue - curmin : 0;
  }
  return curmax;
}

/** Current maximum lb_value: where a recovered member starts, so it gets no burst. */
export function maxLbValue(members: readonly MemberRuntime[]): number {
  let max = 0;
  for (const m of members) if (m.lbValue > max) max = m.lbValue;
  return max;
}

/**
 * ERROR members whose last error is more than recover_time old → RECOVER (at lb_value curmax);
 * others with a first error at least error_escalation_time old → ERROR; unused OK members → IDLE.
 * Returns how many members are not in error.
 */
export function recoverMembers(
  members: readonly MemberRuntime[],
  method: MethodCode,
  curmax: number,
  now: number,
  recoverTimeSec: number,
  errorEscalationTimeSec: number,
): number {
  let nonError = 0;
  for (const m of members) {
    if (m.state === State.ERROR) {
      if (now - m.lastErrorTime > recoverTimeSec * 1000) {
        if (method !== Method.BUSYNESS) m.lbValue = curmax;
        m.replyTimeouts = 0;
        m.state = State.RECOVER;
        nonError++;
      }
    } else if (
      m.firstErrorTime > 0 &&
      now - m.firstErrorTime >= errorEscalationTimeSec * 1000 &&
      m.state !== State.RECOVER
    ) {
      m.state = State.ERROR;
    } else {
      nonError++;
      if (m.state === State.OK && m.elected === m.electedSnapshot) m.state = State.IDLE;
    }
    m.electedSnapshot = m.elected;
  }
  return nonError;
}

/** Every member whose shared state is ERROR → FORCE (also in `local` if given). Returns how many. */
export function forceRecovery(members: readonly MemberRuntime[], local: Uint8Array | null): number {
  let forced = 0;
  for (const m of members) {
    if (m.state !== State.ERROR) continue;
    m.replyTimeouts = 0;
    m.state = State.FORCE;
    if (local !== null) local[m.index] = State.FORCE;
    forced++;
  }
  return forced;
}
