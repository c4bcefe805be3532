/**
 * Drain progress and the drain policy (jkbalancer addition, issue 6).
 *
 * An operator disables a member to drain it: it keeps serving the sessions it already has (sticky
 * requests) and gets no new ones. To know when it is safe to stop it, we count the distinct session
 * ids that reached it stickily during the last `drain_window` seconds, and remember when the last
 * sticky request came. The drain policy (`drain_idle_time`, `drain_deadline`) then moves a disabled
 * member to stopped on its own.
 *
 * Counting distinct ids exactly would need memory proportional to the sessions; we use HyperLogLog
 * instead: fixed memory, a relative standard error of 1.04/√m (m = 1024 registers → ≈ 3.2%), and
 * linear counting for small numbers so a handful of sessions is counted (almost) exactly.
 * The window slides in BUCKETS steps: each bucket is its own HLL sketch, the estimate is the union
 * (register-wise max) of the buckets still inside the window, and a bucket that falls out of the
 * window is cleared and reused. Recording allocates nothing.
 *
 * Pure: time is passed in as ms since the epoch; no I/O.
 */
import type { Balancer } from './balancer.js';
import type { MemberRuntime } from './member.js';
import { Act, type Clock } from './types.js';

/** Index bits of the HLL: m = 2^P registers. */
const P = 10;
const M = 1 << P;
/** Buckets per window: the window slides in steps of window/BUCKETS. */
export const BUCKETS = 10;
/** Largest rank: the 32 − P hash bits left after the index are all zero. */
const MAX_RANK = 32 - P + 1;
/** Bias correction of the raw estimate for m ≥ 128 (Flajolet et al. 2007). */
const ALPHA = 0.7213 / (1 + 1.079 / M);
/** 2^-k for every possible register value. */
const POW2_NEG = Float64Array.from({ length: MAX_RANK + 1 }, (_, k) => 2 ** -k);
const TWO_32 = 2 ** 32;
/** Relative standard error of the estimate: 1.04 / √m ≈ 0.0325. */
export const DRAIN_STANDARD_ERROR = 1.04 / Math.sqrt(M);

/**
 * FNV-1a over the UTF-16 code units, then murmur3's finaliser: FNV-1a alone mixes the last
 * characters poorly, and HLL needs every output bit to look random.
 */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Distinct sticky sessions of one member over a sliding window, and its last sticky request. */
export class DrainTracker {
  /** Window length in seconds; 0 turns distinct counting off (the last sticky time is still kept). */
  readonly windowSec: number;
  /** Time of the last sticky request seen (ms since the epoch), 0 = never. */
  lastStickyMs = 0;
  private readonly bucketMs: number;
  /** BUCKETS sketches of M registers each, back to back in one buffer. */
  private readonly registers: Uint8Array;
  /** Bucket number (time / bucketMs) each slot holds, -1 = empty. */
  private readonly epochs = new Float64Array(BUCKETS).fill(-1);
  /** Scratch for the union, kept so distinct() allocates nothing either. */
  private readonly union = new Uint8Array(M);

  constructor(windowSec: number) {
    this.windowSec = Math.max(0, windowSec);
    this.bucketMs = (this.windowSec * 1000) / BUCKETS;
    this.registers = new Uint8Array(this.windowSec > 0 ? BUCKETS * M : 0);
  }

  /** Bytes of sketch memory: fixed at construction, whatever the number of ids. */
  get memoryBytes(): number {
    return this.registers.byteLength + this.epochs.byteLength + this.union.byteLength;
  }

  record(sessionId: string, nowMs: number): void {
    if (nowMs > this.lastStickyMs) this.lastStickyMs = nowMs;
    if (this.windowSec === 0) return;
    const epoch = Math.floor(nowMs / this.bucketMs);
    const slot = epoch % BUCKETS;
    const base = slot * M;
    if (this.epochs[slot] !== epoch) {
      // The slot's previous bucket is a whole window old (or the clock went back): start it afresh.
      this.registers.fill(0, base, base + M);
      this.epochs[slot] = epoch;
    }
    const h = hash32(sessionId);
    const index = h >>> (32 - P);
    const rest = (h << P) >>> 0;
    const rank = rest === 0 ? MAX_RANK : Math.clz32(rest) + 1;
    if (rank > this.registers[base + index]) this.registers[base + index] = rank;
  }

  sketch(): DrainSketch {
    return { windowSec: this.windowSec, lastStickyMs: this.lastStickyMs, epochs: Array.from(this.epochs), registers: Buffer.from(this.registers).toString('base64') };
  }

  /**
   * Union with another process's (or instance's) tracker of the same member: HLL sketches merge by register-wise
   * maximum, bucket by bucket; a bucket newer than ours replaces ours, an older one is ignored.
   */
  merge(s: DrainSketch): void {
    if (s.lastStickyMs > this.lastStickyMs) this.lastStickyMs = s.lastStickyMs;
    if (s.windowSec !== this.windowSec || this.windowSec === 0) return;
    const theirs = Buffer.from(s.registers, 'base64');
    // A sketch from elsewhere (another instance, through Redis) must be laid out as ours.
    if (theirs.length !== this.registers.length || s.epochs.length !== BUCKETS) return;
    for (let slot = 0; slot < BUCKETS; slot++) {
      const e = s.epochs[slot];
      const base = slot * M;
      if (e < 0 || e < this.epochs[slot]) continue;
      if (e > this.epochs[slot]) {
        this.registers.set(theirs.subarray(base, base + M), base);
        this.epochs[slot] = e;
        continue;
      }
      for (let j = 0; j < M; j++) if (theirs[base + j] > this.registers[base + j]) this.registers[base + j] = theirs[base + j];
    }
  }

  /** Estimated distinct session ids recorded within the last windowSec seconds before nowMs. */
  distinct(nowMs: number): number {
    if (this.windowSec === 0) return 0;
    const current = Math.floor(nowMs / this.bucketMs);
    const union = this.union;
    union.fill(0);
    let live = 0;
    for (let slot = 0; slot < BUCKETS; slot++) {
      const e = this.epochs[slot];
      if (e < 0 || e > current || e <= current - BUCKETS) continue;
      live++;
      const base = slot * M;
      for (let j = 0; j < M; j++) {
        const r = this.registers[base + j];
        if (r > union[j]) union[j] = r;
      }
    }
    if (live === 0) return 0;
    let sum = 0;
    let zeros = 0;
    for (let j = 0; j < M; j++) {
      sum += POW2_NEG[union[j]];
      if (union[j] === 0) zeros++;
    }
    let estimate = (ALPHA * M * M) / sum;
    if (estimate <= 2.5 * M && zeros > 0) {
      // Small range: linear counting over the empty registers is far more precise here.
      estimate = M * Math.log(M / zeros);
    } else if (estimate > TWO_32 / 30) {
      // Large range: hash collisions of the 32-bit hash.
      estimate = -TWO_32 * Math.log(1 - estimate / TWO_32);
    }
    return Math.round(estimate);
  }
}

/** A tracker as plain data: what another process needs to merge it into its own (`--processes`). */
export interface DrainSketch {
  readonly windowSec: number;
  readonly lastStickyMs: number;
  readonly epochs: readonly number[];
  /** The registers, base64. */
  readonly registers: string;
}

/**
 * Trackers by lb and member name, so drain progress survives a configuration reload (which builds
 * new Balancer objects). The data path looks trackers up by Balancer and member index, cached per
 * Balancer, so a request builds no key strings.
 */
export class DrainRegistry {
  private readonly byKey = new Map<string, DrainTracker>();
  private readonly byBalancer = new WeakMap<Balancer, DrainTracker[]>();

  /** The tracker of lb/member; a changed window starts a new one (keeping the last sticky time). */
  tracker(lb: string, member: string, windowSec: number): DrainTracker {
    const key = `${lb}\0${member}`;
    const old = this.byKey.get(key);
    if (old !== undefined && old.windowSec === Math.max(0, windowSec)) return old;
    const t = new DrainTracker(windowSec);
    if (old !== undefined) t.lastStickyMs = old.lastStickyMs;
    this.byKey.set(key, t);
    return t;
  }

  /** The trackers of a balancer's members, indexed like balancer.members (built once per Balancer). */
  trackersOf(b: Balancer): readonly DrainTracker[] {
    let list = this.byBalancer.get(b);
    if (list === undefined) {
      list = b.members.map((m) => this.tracker(b.lb.name, m.name, b.lb.config.drainWindowSec));
      this.byBalancer.set(b, list);
    }
    return list;
  }

  /** Forgets members that are no longer in any of these balancers (after a reload removed them). */
  prune(balancers: Iterable<Balancer>): void {
    const live = new Set<string>();
    for (const b of balancers) for (const m of b.members) live.add(`${b.lb.name}\0${m.name}`);
    for (const key of this.byKey.keys()) if (!live.has(key)) this.byKey.delete(key);
  }
}

export type DrainReason = 'idle' | 'deadline';

/** A disabled member the drain policy moved to stopped. */
export interface DrainMove {
  readonly lb: string;
  readonly member: string;
  readonly reason: DrainReason;
  /** Seconds the member had been disabled. */
  readonly afterSec: number;
}

/** What the status JSON (member extras `drain`) and the metrics show of a member's drain. */
export interface DrainInfo {
  /** Distinct sessions routed stickily to the member within the drain window. */
  readonly sessions_seen: number;
  /** Seconds since the last sticky request, -1 = never. */
  readonly last_sticky_ago: number;
  /** The member's drain_idle_time (s, 0 = off). */
  readonly drain_idle_time: number;
  /** The member's drain_deadline (s, 0 = off). */
  readonly drain_deadline: number;
  /** Seconds until the policy stops the member (if no more sticky traffic comes), -1 = it will not. */
  readonly stop_in: number;
  /** Which policy stops it then (drain_idle_time or drain_deadline), null = none. */
  readonly stop_reason: DrainReason | null;
}

/** Last sticky request of a member (ms, 0 = never): the routing core's own record, or the tracker's if later. */
export function lastSticky(m: MemberRuntime, t: DrainTracker | null): number {
  return t !== null && t.lastStickyMs > m.lastStickyTime ? t.lastStickyMs : m.lastStickyTime;
}

/** When (ms) the drain policy stops member m and why, or null when no policy applies. */
function drainDue(m: MemberRuntime, t: DrainTracker | null): { at: number; reason: DrainReason } | null {
  if (m.activation !== Act.DISABLED || m.disabledSince <= 0) return null;
  let due: { at: number; reason: DrainReason } | null = null;
  if (m.drainIdleSec > 0) {
    due = { at: Math.max(lastSticky(m, t), m.disabledSince) + m.drainIdleSec * 1000, reason: 'idle' };
  }
  if (m.drainDeadlineSec > 0) {
    const at = m.disabledSince + m.drainDeadlineSec * 1000;
    if (due === null || at < due.at) due = { at, reason: 'deadline' };
  }
  return due;
}

/**
 * The drain policy's decisions: every disabled member whose sticky traffic has been quiet for
 * drain_idle_time, or that has been disabled for drain_deadline, is due to be stopped. Call it
 * periodically (e.g. every second) and apply each move as a change of activation to STP through
 * the one commit path (status/admin.ts), as a status update would: this function changes nothing.
 */
export function dueDrains(balancer: Balancer, registry: DrainRegistry, nowMs: number): DrainMove[] {
  const moves: DrainMove[] = [];
  const trackers = registry.trackersOf(balancer);
  for (const m of balancer.members) {
    if (m.activation !== Act.DISABLED || (m.drainIdleSec <= 0 && m.drainDeadlineSec <= 0)) continue;
    // The drain clock (disabledSince) is the gate's: every way to Disabled starts it.
    const due = drainDue(m, trackers[m.index]);
    if (due === null || nowMs < due.at) continue;
    const afterSec = Math.round((nowMs - m.disabledSince) / 1000);
    moves.push({ lb: balancer.lb.name, member: m.name, reason: due.reason, afterSec });
  }
  return moves;
}

/** Drain progress of one member for the status JSON and the metrics. */
export function drainInfo(member: MemberRuntime, tracker: DrainTracker | null, nowMs: number): DrainInfo {
  const last = lastSticky(member, tracker);
  const due = drainDue(member, tracker);
  return {
    sessions_seen: tracker === null ? 0 : tracker.distinct(nowMs),
    last_sticky_ago: last > 0 ? Math.max(0, Math.floor((nowMs - last) / 1000)) : -1,
    drain_idle_time: member.drainIdleSec,
    drain_deadline: member.drainDeadlineSec,
    stop_in: due === null ? -1 : Math.max(0, Math.ceil((due.at - nowMs) / 1000)),
    stop_reason: due === null ? null : due.reason,
  };
}

/** The status worker's `getMemberExtras`: adds `drain` (DrainInfo) to each member of mime=json. */
export function drainExtras(registry: DrainRegistry, clock: Clock): (b: Balancer, m: MemberRuntime) => { drain: DrainInfo } {
  return (b, m) => ({ drain: drainInfo(m, registry.trackersOf(b)[m.index], clock.now()) });
}
