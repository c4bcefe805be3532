/**
 * Runtime record of one lb member: the settings the status worker may change, initialised from the
 * configuration, plus the shared counters and state (docs/load-balancing.md#runtime-data). Plain
 * fields only, so a later step can move them into memory shared between worker threads, as mod_jk
 * keeps them in shm.
 */
import type { Activation, MemberConfig } from '../config/model.js';
import { domainOfRoute } from '../config/values.js';
import { Act, State, type ActCode, type StateCode } from './types.js';

/** Re-exported for the status worker (src/status imports it from here). */
export { domainOfRoute };

const ACT_OF: Record<Activation, ActCode> = { ACT: Act.ACTIVE, DIS: Act.DISABLED, STP: Act.STOPPED };

export class MemberRuntime {
  readonly index: number;
  readonly name: string;
  /** As loaded; runtime changes go to the fields below, never here. */
  readonly config: MemberConfig;

  // Settings the status worker may change at runtime.
  activation: ActCode;
  lbfactor: number;
  /** lcm(all lbfactors) / lbfactor; maintained by the Balancer. */
  lbMult = 1;
  distance: number;
  route: string;
  domain: string;
  redirect: string;
  host: string;
  port: number;
  replyTimeoutMs: number;
  retries: number;
  retryIntervalMs: number;
  recoveryOptions: number;
  busyLimit: number;
  maxPacketSize: number;
  connectionPoolTimeoutSec: number;
  pingTimeoutMs: number;
  connectTimeoutMs: number;
  prepostTimeoutMs: number;
  connectionPingIntervalSec: number;
  drainIdleSec: number;
  drainDeadlineSec: number;

  // Shared runtime state and counters. Times are ms since the epoch, 0 = never.
  state: StateCode = State.IDLE;
  lbValue = 0;
  firstErrorTime = 0;
  lastErrorTime = 0;
  /** `elected` at the previous maintenance (idle detection). */
  electedSnapshot = 0;
  /** Balancer attempts that reached this member (mod_jk `used`, status Acc). */
  elected = 0;
  /** Attempts of requests without a session id (and not stateless). */
  sessions = 0;
  errors = 0;
  clientErrors = 0;
  /** Decayed count of reply timeouts, compared with max_reply_timeouts. */
  replyTimeouts = 0;
  /** Bytes sent to / received from the backend. */
  transferred = 0;
  read = 0;
  /** Attempts in flight on this member. */
  busy = 0;
  maxBusy = 0;
  /** Backend connections, kept by the transport. */
  connected = 0;
  maxConnected = 0;
  lastResetTime: number;
  /** When the member was last set Disabled (0 = not disabled); drain policy reads it. */
  disabledSince = 0;
  /** Last attempt that reached this member by an exact route match; drain policy reads it. */
  lastStickyTime = 0;

  constructor(index: number, config: MemberConfig, now: number) {
    this.index = index;
    this.name = config.name;
    this.config = config;
    // A member that cannot be contacted (port 0) is forced to Stopped, as mod_jk does at startup.
    this.activation = config.port === 0 ? Act.STOPPED : ACT_OF[config.activation];
    this.lbfactor = Math.max(1, config.lbfactor);
    this.distance = config.distance;
    this.route = config.route;
    this.domain = config.domain; // already derived from the route when not configured
    this.redirect = config.redirect;
    this.host = config.host;
    this.port = config.port;
    this.replyTimeoutMs = config.replyTimeoutMs;
    this.retries = config.retries;
    this.retryIntervalMs = config.retryIntervalMs;
    this.recoveryOptions = config.recoveryOptions;
    this.busyLimit = config.busyLimit;
    this.maxPacketSize = config.maxPacketSize;
    this.connectionPoolTimeoutSec = config.connectionPoolTimeoutSec;
    this.pingTimeoutMs = config.ping.pingTimeoutMs;
    this.connectTimeoutMs = config.ping.connectTimeoutMs;
    this.prepostTimeoutMs = config.ping.prepostTimeoutMs;
    this.connectionPingIntervalSec = config.ping.intervalSec;
    this.drainIdleSec = config.drainIdleSec;
    this.drainDeadlineSec = config.drainDeadlineSec;
    this.lastResetTime = now;
    if (this.activation === Act.DISABLED) this.disabledSince = now;
  }

  /**
   * Status "reset" for this member (docs/status-worker.md#reset-and-recover): state IDLE, error
   * times, counters and lb_value zeroed.
   */
  resetCounters(now: number): void {
    this.state = State.IDLE;
    this.lbValue = 0;
    this.firstErrorTime = 0;
    this.lastErrorTime = 0;
    this.electedSnapshot = 0;
    this.elected = 0;
    this.sessions = 0;
    this.errors = 0;
    this.clientErrors = 0;
    this.replyTimeouts = 0;
    this.transferred = 0;
    this.read = 0;
    this.maxBusy = 0;
    this.maxConnected = 0;
    this.lastResetTime = now;
  }
}
