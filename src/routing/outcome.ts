/**
 * What the client gets from an attempt's outcome, and whether the request may fail over
 * (docs/load-balancing.md#attempt-outcomes). Pure functions; the member-state effects live in the
 * Balancer.
 */
import type { AttemptOutcome, OutcomeKind } from './types.js';

/** recovery_options bits (docs/directives.md#member-connection). */
export const Recovery = {
  /** No failover when the backend failed after receiving the request, before the response head. */
  ABORT_AFTER_REQUEST: 1,
  /** No failover after the response head went to the client. */
  ABORT_AFTER_HEADERS: 2,
  /** Close the backend connection on client errors (data path). */
  CLOSE_ON_CLIENT_ERROR: 4,
  /** HEAD stays recoverable despite bits 1/2. */
  HEAD_ALWAYS: 8,
  /** GET stays recoverable despite bits 1/2 (evaluated even with bit 8: mod_jk's quirk is not kept). */
  GET_ALWAYS: 16,
} as const;

/** Status the client gets if this attempt is the last one. */
export function outcomeStatus(o: AttemptOutcome): number {
  switch (o.kind) {
    case 'success':
      return o.status;
    case 'client_error':
      return o.status > 0 ? o.status : 400;
    case 'too_large':
      return 413;
    case 'read':
    case 'protocol':
      return 502;
    case 'reply_timeout':
      return 504;
    case 'connect':
    case 'busy':
    case 'fail_status':
    case 'local':
      return 503;
  }
}

/**
 * May the request go to another member after this (failed) outcome?
 * Nothing is replayable once the response head reached the client or the body outgrew the replay
 * buffer. A failure after the backend received the request is further governed by recovery_options.
 */
export function outcomeRecoverable(o: AttemptOutcome, recoveryOptions: number, httpMethod: string): boolean {
  switch (o.kind) {
    case 'success':
    case 'client_error':
    case 'too_large':
    case 'local':
      return false;
    case 'connect':
    case 'busy':
    case 'fail_status':
      return o.bodyReplayable && !o.responseStarted;
    case 'read':
    case 'reply_timeout':
    case 'protocol': {
      if (o.responseStarted || !o.bodyReplayable) return false;
      if ((recoveryOptions & Recovery.ABORT_AFTER_REQUEST) === 0) return true;
      if (httpMethod === 'HEAD') return (recoveryOptions & Recovery.HEAD_ALWAYS) !== 0;
      if (httpMethod === 'GET') return (recoveryOptions & Recovery.GET_ALWAYS) !== 0;
      return false;
    }
  }
}

/**
 * Whose fault a failed attempt is, as Balancer.endAttempt treats it: the member's (the attempt failed
 * on its side; its state may go to error), the client's (`client_errors`: the member stays OK), or
 * the balancer's own (`local`: out of file descriptors or memory; the member keeps its state).
 */
export type Fault = 'member' | 'client' | 'balancer';
export const FAULT_OF: Readonly<Record<Exclude<OutcomeKind, 'success'>, Fault>> = {
  connect: 'member',
  read: 'member',
  reply_timeout: 'member',
  protocol: 'member',
  busy: 'member',
  fail_status: 'member',
  client_error: 'client',
  too_large: 'client',
  local: 'balancer',
};
