/**
 * Per-request state of one pass through the lb retry loop (docs/load-balancing.md#request-loop).
 * The request-local copy of the members' states lives in a typed array borrowed from the Balancer's
 * pool and handed back when the loop reports 'done', so a request allocates no arrays of its own.
 */
import type { RoutePath } from './types.js';

/** Where a request is in the loop; guards against calls out of order. */
export const Phase = {
  /** next() may select a member. */
  SELECT: 0,
  /** next() returned an attempt step; startAttempt() is due. */
  CHOSEN: 1,
  /** startAttempt() succeeded; endAttempt() is due. */
  IN_FLIGHT: 2,
  /** next() returned a wait step; the following next() refreshes the local states. */
  WAITING: 3,
  DONE: 4,
} as const;
export type PhaseCode = (typeof Phase)[keyof typeof Phase];

const NO_STATES = new Uint8Array(0);

export class LbRequest {
  /** Extracted session id (pieces joined by ';'), null if none or not extracted. */
  sessionId: string | null = null;
  /** The id piece whose route selected the current member stickily, else null. */
  stickyId: string | null = null;
  /** The current member was chosen by an exact route match (or is a non-disabled single member). */
  sticky = false;
  /** How the current member was reached. */
  path: RoutePath = 'balanced';
  /** Route forwarded with the current attempt: the domain after a domain match, else the member's route. */
  route = '';
  /** Attempt slots used in the current round (docs/load-balancing.md#retries). */
  attempts = 0;
  /** Status the client gets if the loop ends now (docs/load-balancing.md#attempt-outcomes). */
  lastStatus = 503;
  /** Why the last attempt failed over / why no member was found; '' if nothing went wrong. */
  reason = '';

  /** Current (or last) member index, -1 before the first choice. */
  member = -1;
  /** Completed rounds (lb retries). */
  round = 0;
  /** The once-per-request forced recovery (docs/load-balancing.md#forced-recovery) has run. */
  forced = false;
  /** It brought at least one member back: later non-sticky choices report path 'forced'. */
  forcedSome = false;
  /** The last outcome allows failover / another round. */
  recoverable = true;
  phase: PhaseCode = Phase.SELECT;

  /**
   * Request-local member states (docs/load-balancing.md#eligibility); borrowed from the Balancer's
   * pool until 'done'.
   */
  local: Uint8Array = NO_STATES;
  /** Per-request activation overrides from the rule (-1 = none), or null; shared per rule, never written. */
  overrides: Int8Array | null = null;

  // Facts about the request itself.
  readonly httpMethod: string;
  readonly secure: boolean;
  readonly stateless: boolean;
  readonly ruleSetCookie: boolean;

  constructor(httpMethod: string, secure: boolean, stateless: boolean, ruleSetCookie: boolean) {
    this.httpMethod = httpMethod;
    this.secure = secure;
    this.stateless = stateless;
    this.ruleSetCookie = ruleSetCookie;
  }

  /** Gives the local-state array back; later reads see an empty array. */
  detachLocal(): Uint8Array {
    const a = this.local;
    this.local = NO_STATES;
    return a;
  }
}
