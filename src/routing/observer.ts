/**
 * What the data path reports about each request, for metrics (drain tracking is not among them: the
 * data path records sticky sessions in its DrainRegistry itself, metrics or not). The proxy calls
 * these synchronously on the hot path, so implementations must be cheap and must not throw.
 */
import type { OutcomeKind } from './types.js';

export interface RequestObserver {
  /** An attempt on a member begins (in-flight +1). */
  attemptStart(lb: string, member: string): void;
  /** The attempt ended (in-flight −1) with this outcome. */
  attemptEnd(lb: string, member: string, kind: OutcomeKind, bytesSent: number, bytesReceived: number): void;
  /** The request moved on from a failed member to another choice. */
  failover(lb: string, reason: OutcomeKind): void;
  /** The request finished. `member` is '' when no member answered (503 from us). */
  requestEnd(lb: string, member: string, status: number, durationSec: number, noMember: boolean): void;
}

/** Used when nothing observes (tests, `check`). */
export const NO_OBSERVER: RequestObserver = {
  attemptStart() {},
  attemptEnd() {},
  failover() {},
  requestEnd() {},
};
