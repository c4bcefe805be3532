/**
 * Eligibility of a member for a request (docs/load-balancing.md#eligibility), from its
 * request-local state and effective activation.
 */
import { Act, State, type ActCode } from './types.js';

/** IDLE, OK, RECOVER and FORCE take traffic; BUSY, ERROR and PROBE take none, not even sticky traffic. */
function stateUsable(state: number): boolean {
  return state <= State.FORCE;
}

/** May take new (non-sticky) requests. */
export function usable(state: number, act: ActCode): boolean {
  return stateUsable(state) && act === Act.ACTIVE;
}

/** May take sticky requests and be a redirect target: a disabled member still serves its sessions. */
export function usableSticky(state: number, act: ActCode): boolean {
  return stateUsable(state) && act !== Act.STOPPED;
}
