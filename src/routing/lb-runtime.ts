/**
 * Runtime record of one lb worker: its live settings (one record, written only by the gate in
 * balancer.ts, read here through getters) and its own counters (docs/load-balancing.md#runtime-data).
 */
import type { LbConfig, LbLock, LbMethod } from '../config/model.js';
import { Method, type MethodCode } from './types.js';

const METHOD_OF: Record<LbMethod, MethodCode> = {
  Request: Method.REQUEST,
  Traffic: Method.TRAFFIC,
  Busyness: Method.BUSYNESS,
  Sessions: Method.SESSIONS,
  Next: Method.NEXT,
};
const LOCK_OF: Record<LbLock, 0 | 1> = { Optimistic: 0, Pessimistic: 1 };

/**
 * The live settings of one lb worker, started from its configuration; created and written only by
 * the gate (Balancer), read through LbRuntime's getters.
 */
export interface LbSettings {
  stickySession: boolean;
  stickySessionForce: boolean;
  method: MethodCode;
  lock: 0 | 1;
  retries: number;
  retryIntervalMs: number;
  recoverTimeSec: number;
  errorEscalationTimeSec: number;
  maxReplyTimeouts: number;
  /** Moves with every change of a setting. */
  generation: number;
}

export function initialLbSettings(config: LbConfig): LbSettings {
  return {
    stickySession: config.stickySession,
    stickySessionForce: config.stickySessionForce,
    method: METHOD_OF[config.method],
    lock: LOCK_OF[config.lock],
    retries: Math.max(1, config.retries),
    retryIntervalMs: config.retryIntervalMs,
    recoverTimeSec: Math.max(1, config.recoverTimeSec),
    errorEscalationTimeSec: config.errorEscalationTimeSec,
    maxReplyTimeouts: config.maxReplyTimeouts,
    generation: 0,
  };
}

/** Runtime settings and counters of the lb itself; the status worker may change the settings. */
export class LbRuntime {
  readonly name: string;
  readonly config: LbConfig;
  /** Max member attempts per round (not a live setting). */
  readonly lbRetries: number;
  private readonly s: Readonly<LbSettings>;

  get stickySession(): boolean { return this.s.stickySession; }
  get stickySessionForce(): boolean { return this.s.stickySessionForce; }
  get method(): MethodCode { return this.s.method; }
  get lock(): 0 | 1 { return this.s.lock; }
  get retries(): number { return this.s.retries; }
  get retryIntervalMs(): number { return this.s.retryIntervalMs; }
  get recoverTimeSec(): number { return this.s.recoverTimeSec; }
  get errorEscalationTimeSec(): number { return this.s.errorEscalationTimeSec; }
  get maxReplyTimeouts(): number { return this.s.maxReplyTimeouts; }
  /** Moves with every settings change. */
  get generation(): number { return this.s.generation; }

  /** Attempts in flight through this lb. */
  busy = 0;
  maxBusy = 0;
  lastMaintainTime: number;
  lastResetTime: number;
  /** Rotation start of the balanced choice (docs/load-balancing.md#balanced-choice). */
  nextOffset = 0;

  /** `settings` is the record the gate keeps writable (initialLbSettings). */
  constructor(config: LbConfig, settings: Readonly<LbSettings>, now: number) {
    this.name = config.name;
    this.config = config;
    this.lbRetries = Math.max(1, config.lbRetries);
    this.s = settings;
    this.lastMaintainTime = now;
    this.lastResetTime = now;
  }

  /** Reload: take over the counters of the lb this one replaces (not its settings). */
  takeCounters(from: LbRuntime): void {
    this.maxBusy = from.maxBusy;
    this.lastMaintainTime = from.lastMaintainTime;
    this.lastResetTime = from.lastResetTime;
    this.nextOffset = from.nextOffset;
  }
}
