/**
 * What one client may hold on the listener. Each is a documented `jkbalancer start` option;
 * backend-side time is bounded per member by reply_timeout and connection_acquire_timeout.
 */
export interface ListenerLimits {
  /** ms a client has to send a whole request head (Node's own default, 60 s, invites slowloris). */
  readonly headerTimeoutMs: number;
  /** ms a request body may go without a byte before the request is answered 408 and abandoned. */
  readonly bodyIdleTimeoutMs: number;
  /** Client connections open at once; a connection beyond this is closed at once. */
  readonly maxConnections: number;
}

export const DEFAULT_LIMITS: ListenerLimits = { headerTimeoutMs: 10_000, bodyIdleTimeoutMs: 30_000, maxConnections: 10_000 };
