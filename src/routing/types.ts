/**
 * Contract of the routing core (src/routing). Pure data and signatures: no I/O.
 * The data path (src/proxy), the status worker (src/status) and metrics read and drive
 * the balancer only through these names.
 *
 * Runtime state is kept in plain numeric/string fields (no per-request object graphs) so a
 * later step can move it into shared memory between worker threads, as mod_jk does with shm.
 */
import type { RuleExtensions } from '../config/model.js';

/** Member states (docs/load-balancing.md#states). Numeric order is relied upon. */
export const State = {
  IDLE: 0,
  OK: 1,
  RECOVER: 2,
  FORCE: 3,
  BUSY: 4,
  ERROR: 5,
  PROBE: 6,
} as const;
export type StateCode = (typeof State)[keyof typeof State];
export const STATE_NAMES = ['OK/IDLE', 'OK', 'ERR/REC', 'ERR/FRC', 'OK/BUSY', 'ERR', 'ERR/PRB'] as const;

/** Activation codes; text forms are ACT/DIS/STP. */
export const Act = { ACTIVE: 0, DISABLED: 1, STOPPED: 2 } as const;
export type ActCode = (typeof Act)[keyof typeof Act];
export const ACT_NAMES = ['ACT', 'DIS', 'STP'] as const;

export const Method = { REQUEST: 0, TRAFFIC: 1, BUSYNESS: 2, SESSIONS: 3, NEXT: 4 } as const;
export type MethodCode = (typeof Method)[keyof typeof Method];
export const METHOD_NAMES = ['Request', 'Traffic', 'Busyness', 'Sessions', 'Next'] as const;

/** Milliseconds since the epoch. Injected so tests can drive time. */
export interface Clock {
  now(): number;
}

/** What the routing core needs to know about one request. */
export interface RequestView {
  readonly method: string;
  /** Raw request path including path parameters (;jsessionid=…), without the query string. */
  readonly path: string;
  /** Every raw Cookie header value, in order. */
  readonly cookies: readonly string[];
  /** Client connection is TLS (adds ;Secure to the stickiness cookie). */
  readonly secure: boolean;
  /** Extensions of the mount rule that matched, or null. */
  readonly rule: RuleExtensions | null;
}

/** How the chosen member was reached. */
export type RoutePath = 'sticky' | 'domain' | 'redirect' | 'distance' | 'balanced' | 'failover' | 'forced' | 'single';

/**
 * What happened in one attempt on a member, as seen by the transport / data path.
 * - success: a reply was relayed (or is being relayed) to the client.
 * - client_error: the client aborted (upload stopped, hung up while we wrote): never a member error.
 * - connect: connect / CPing / send failure before anything of the request reached the backend.
 * - read: backend closed or failed while we read the reply (after it received the request).
 * - reply_timeout: no reply packet within reply_timeout.
 * - protocol: malformed reply.
 * - busy: no pool connection could be acquired, or busy_limit exceeded.
 * - fail_status: backend answered with a status in fail_on_status (sign says hard/soft).
 * - too_large: request larger than the member can take (413, client error).
 * - local: the balancer itself could not make the attempt (out of file descriptors or memory):
 *   our own 503, never the member's fault, and not retried elsewhere (it would fail the same way).
 */
export type OutcomeKind =
  | 'success'
  | 'client_error'
  | 'connect'
  | 'read'
  | 'reply_timeout'
  | 'protocol'
  | 'busy'
  | 'fail_status'
  | 'too_large'
  | 'local';

export interface AttemptOutcome {
  kind: OutcomeKind;
  /** Backend status for success; the matched fail_on_status entry (signed) for fail_status. */
  status: number;
  /** Response head already sent to the client: nothing can be replayed. */
  responseStarted: boolean;
  /** Request body can still be replayed to another member (all of it fit in the replay buffer). */
  bodyReplayable: boolean;
  /** Bytes sent to / received from the backend in this attempt (Traffic method, transferred/read). */
  bytesSent: number;
  bytesReceived: number;
}

/** One step of the lb retry loop (docs/load-balancing.md#request-loop). */
export type Step =
  | { readonly kind: 'attempt'; readonly member: number }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'done'; readonly status: number; readonly reason: string };

/**
 * Per-attempt facts the data path forwards to the backend (docs/load-balancing.md#stickiness-cookie,
 * #forwarded-activation-and-route).
 */
export interface AttemptInfo {
  /** 'ACT' | 'DIS' — effective activation of the chosen member (JK_LB_ACTIVATION). */
  readonly activation: string;
  /** Route to forward (AJP `route` attribute / X-JK-Route header). */
  readonly route: string;
  /** Set-Cookie value to append to the reply, or null. */
  readonly setCookie: string | null;
}
