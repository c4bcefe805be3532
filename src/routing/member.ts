/**
 * Runtime record of one lb member: its live settings (one record, written only by the gate in
 * balancer.ts, read here through getters), plus the shared counters and state
 * (docs/load-balancing.md#runtime-data). Plain data only, so a later step can move them into memory
 * shared between worker threads, as mod_jk keeps them in shm.
 */
import type { Activation, MemberConfig } from '../config/model.js';
import { domainOfRoute } from '../config/values.js';
import { ACT_NAMES, Act, State, type ActCode, type StateCode } from './types.js';
import { HealthRecord } from './health.js';

/** Re-exported for the status worker (src/status imports it from here). */
export { domainOfRoute };

const ACT_OF: Record<Activation, ActCode> = { ACT: Act.ACTIVE, DIS: Act.DISABLED, STP: Act.STOPPED };

/**
 * The live settings of one member: one record per member, as mod_jk keeps one per worker, started
 * from the configuration. The gate (Balancer.setMember and its kin, routing/balancer.ts) creates it
 * and alone holds it writable; everyone else reads it through MemberRuntime's getters. Fields named
 * as in MemberConfig hold the same thing (transportConfig relies on it).
 */
export interface MemberSettings {
  activation: ActCode;
  lbfactor: number;
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
  /** When the member was last set Disabled (0 = not disabled); the drain policy reads it. */
  disabledSince: number;
  /** Moves with every change of a setting (mod_jk's sequence number of a worker record). */
  generation: number;
  /** Moves with every change of a setting the member's transport is built from. */
  transportGeneration: number;
}

/** A member's settings as its configuration gives them. */
export function initialMemberSettings(config: MemberConfig, now: number): MemberSettings {
  // A member that cannot be contacted (port 0) is forced to Stopped, as mod_jk does at startup.
  const activation = config.port === 0 ? Act.STOPPED : ACT_OF[config.activation];
  return {
    activation,
    lbfactor: Math.max(1, config.lbfactor),
    distance: config.distance,
    route: config.route,
    domain: config.domain, // already derived from the route when not configured
    redirect: config.redirect,
    host: config.host,
    port: config.port,
    replyTimeoutMs: config.replyTimeoutMs,
    retries: config.retries,
    retryIntervalMs: config.retryIntervalMs,
    recoveryOptions: config.recoveryOptions,
    busyLimit: config.busyLimit,
    maxPacketSize: config.maxPacketSize,
    connectionPoolTimeoutSec: config.connectionPoolTimeoutSec,
    pingTimeoutMs: config.ping.pingTimeoutMs,
    connectTimeoutMs: config.ping.connectTimeoutMs,
    prepostTimeoutMs: config.ping.prepostTimeoutMs,
    connectionPingIntervalSec: config.ping.intervalSec,
    drainIdleSec: config.drainIdleSec,
    drainDeadlineSec: config.drainDeadlineSec,
    disabledSince: activation === Act.DISABLED ? now : 0,
    generation: 0,
    transportGeneration: 0,
  };
}

/**
 * A member's configuration with its live settings: what its transport is built from. `generation`
 * is the member's transport generation these values belong to; the data path builds a new transport
 * when the member's has moved past it.
 */
export type LiveMemberConfig = MemberConfig & { readonly generation: number };

function liveConfig(config: MemberConfig, s: Readonly<MemberSettings>): LiveMemberConfig {
  // Settings named as in MemberConfig go over unchanged; the rest are spelled out here.
  const {
    activation, pingTimeoutMs, connectTimeoutMs, prepostTimeoutMs, connectionPingIntervalSec,
    disabledSince: _disabledSince, generation: _generation, transportGeneration, ...same
  } = s;
  return Object.freeze({
    ...config,
    ...same,
    activation: ACT_NAMES[activation],
    ping: { ...config.ping, pingTimeoutMs, connectTimeoutMs, prepostTimeoutMs, intervalSec: connectionPingIntervalSec },
    generation: transportGeneration,
  });
}

export class MemberRuntime {
  readonly index: number;
  readonly name: string;
  /** As loaded; runtime changes go to the settings record, never here. */
  readonly config: MemberConfig;
  /** The settings record, read-only here: only the gate that created it writes it. */
  private readonly s: Readonly<MemberSettings>;
  /** transportConfig, built for settings generation liveAt. */
  private live: LiveMemberConfig | null = null;
  private liveAt = -1;

  // Settings the status worker may change at runtime (written through the gate only).
  get activation(): ActCode { return this.s.activation; }
  get lbfactor(): number { return this.s.lbfactor; }
  get distance(): number { return this.s.distance; }
  get route(): string { return this.s.route; }
  get domain(): string { return this.s.domain; }
  get redirect(): string { return this.s.redirect; }
  get host(): string { return this.s.host; }
  get port(): number { return this.s.port; }
  get replyTimeoutMs(): number { return this.s.replyTimeoutMs; }
  get retries(): number { return this.s.retries; }
  get retryIntervalMs(): number { return this.s.retryIntervalMs; }
  get recoveryOptions(): number { return this.s.recoveryOptions; }
  get busyLimit(): number { return this.s.busyLimit; }
  get maxPacketSize(): number { return this.s.maxPacketSize; }
  get connectionPoolTimeoutSec(): number { return this.s.connectionPoolTimeoutSec; }
  get pingTimeoutMs(): number { return this.s.pingTimeoutMs; }
  get connectTimeoutMs(): number { return this.s.connectTimeoutMs; }
  get prepostTimeoutMs(): number { return this.s.prepostTimeoutMs; }
  get connectionPingIntervalSec(): number { return this.s.connectionPingIntervalSec; }
  get drainIdleSec(): number { return this.s.drainIdleSec; }
  get drainDeadlineSec(): number { return this.s.drainDeadlineSec; }
  /** When the member was last set Disabled (0 = not disabled); drain policy reads it. */
  get disabledSince(): number { return this.s.disabledSince; }
  /** Moves with every settings change. */
  get generation(): number { return this.s.generation; }
  /** Moves with every change of a setting the transport is built from (the data path compares it). */
  get transportGeneration(): number { return this.s.transportGeneration; }

  /** The configuration with the live settings, for building the member's transport. */
  get transportConfig(): LiveMemberConfig {
    const s = this.s;
    if (this.live === null || this.liveAt !== s.generation) {
      this.live = liveConfig(this.config, s);
      this.liveAt = s.generation;
    }
    return this.live;
  }

  /** lcm(all lbfactors) / lbfactor; maintained by the Balancer. */
  lbMult = 1;

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
  /** Last attempt that reached this member by an exact route match; drain policy reads it. */
  lastStickyTime = 0;
  /** Results of its active health checks; null when it has none (`health_check_method` unset). */
  health: HealthRecord | null;

  /** `settings` is the record the gate keeps writable (initialMemberSettings). */
  constructor(index: number, config: MemberConfig, settings: Readonly<MemberSettings>, now: number) {
    this.index = index;
    this.name = config.name;
    this.config = config;
    this.s = settings;
    this.lastResetTime = now;
    this.health = config.healthCheck === null ? null : new HealthRecord();
  }

  /** Reload: take over the state and counters of the member this one replaces (not its settings). */
  takeCounters(from: MemberRuntime): void {
    this.state = from.state;
    this.lbValue = from.lbValue;
    this.firstErrorTime = from.firstErrorTime;
    this.lastErrorTime = from.lastErrorTime;
    this.electedSnapshot = from.electedSnapshot;
    this.elected = from.elected;
    this.sessions = from.sessions;
    this.errors = from.errors;
    this.clientErrors = from.clientErrors;
    this.replyTimeouts = from.replyTimeouts;
    this.transferred = from.transferred;
    this.read = from.read;
    this.maxBusy = from.maxBusy;
    this.maxConnected = from.maxConnected;
    this.lastResetTime = from.lastResetTime;
    this.lastStickyTime = from.lastStickyTime;
    // Still checked: the counts in a row go on (a member going down stays on its way down).
    if (this.health !== null && from.health !== null) this.health = from.health;
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
    this.health?.reset();
  }
}
