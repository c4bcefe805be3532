/**
 * The last hour of every lb and member, for the status page's charts and for scripts
 * (`cmd=history&mime=json`, issue 17): one sample per interval (5 s by default) in a ring of
 * HISTORY_SLOTS slots, so memory is fixed per member whatever the traffic, and the oldest sample
 * makes room for the newest.
 *
 * Nothing here runs per request. A timer (app/start.ts) hands record() the interval's counts
 * (interval-counts.ts: the accumulators' growth since the last sample, summed over the worker
 * processes with `--processes`) and reads the rest from the live state at that moment: busy, and the
 * sticky sessions in the drain window (the drain trackers' HyperLogLog estimate, with `--processes`
 * from the primary's merged sketches). Latency percentiles come from the interval's duration
 * histogram (the metrics' own buckets), interpolated within a bucket as Prometheus'
 * histogram_quantile does: coarse, but every process's requests count, and no per-request work.
 *
 * State and activation changes are events with their time, noted whenever noteChanges() looks (every
 * second, and at each sample). A member's state counts as changed only between "fine" (OK/IDLE, OK,
 * OK/BUSY: these alternate with every request) and each error state.
 *
 * History is kept by lb and member name, so it outlives a reload for the members that remain.
 */
import type { Balancer } from '../routing/balancer.js';
import type { DrainRegistry } from '../routing/drain.js';
import { FAULT_OF, type Fault } from '../routing/outcome.js';
import { ACT_NAMES, STATE_NAMES, State, type StateCode } from '../routing/types.js';
import { DURATION_BUCKETS, ERROR_KINDS } from './accumulators.js';
import type { IntervalCounts, MemberCounts } from './interval-counts.js';

/** Samples kept per lb and per member: an hour at the default interval. */
export const HISTORY_SLOTS = 720;
export const DEFAULT_HISTORY_INTERVAL_MS = 5000;
/** State and activation changes kept per member (older ones than the oldest sample are not shown either). */
const EVENT_SLOTS = 64;

/** The values of one sample, by index into a slot. Counts are per interval; the rest at its end. */
const F = {
  requests: 0,
  memberErrors: 1,
  clientErrors: 2,
  balancerErrors: 3,
  noMember: 4,
  /** Seconds; NaN when no request ended in the interval. */
  p50: 5,
  p95: 6,
  busy: 7,
  sessions: 8,
} as const;
const FIELDS = 9;

/** Which value of a sample each fault's errors go to. */
const FAULT_FIELD: Readonly<Record<Fault, number>> = { member: F.memberErrors, client: F.clientErrors, balancer: F.balancerErrors };
/** An lb's sample sums these of its members' (its requests and latency are its own). */
const LB_SUMS = [F.memberErrors, F.clientErrors, F.balancerErrors, F.sessions] as const;
/** ERROR_KINDS index → sample value it is counted in. */
const KIND_FIELD = ERROR_KINDS.map((k) => FAULT_FIELD[FAULT_OF[k]]);

/**
 * Fixed-size ring of samples: their end times, lengths and values in typed arrays allocated once.
 * Reading returns the samples oldest first.
 */
export class SampleRing {
  private readonly times: Float64Array;
  private readonly lengths: Float32Array;
  private readonly values: Float32Array;
  /** Samples ever written; the newest is at (written - 1) % slots. */
  private written = 0;

  constructor(readonly slots: number) {
    this.times = new Float64Array(slots);
    this.lengths = new Float32Array(slots);
    this.values = new Float32Array(slots * FIELDS);
  }

  get size(): number {
    return Math.min(this.written, this.slots);
  }

  get memoryBytes(): number {
    return this.times.byteLength + this.lengths.byteLength + this.values.byteLength;
  }

  /** Appends a sample: `values` (FIELDS long) over `lengthMs` ending at `timeMs`. */
  push(timeMs: number, lengthMs: number, values: ArrayLike<number>): void {
    const slot = this.written % this.slots;
    this.times[slot] = timeMs;
    this.lengths[slot] = lengthMs;
    this.values.set(values, slot * FIELDS);
    this.written++;
  }

  /** Calls `each` for every sample after `sinceMs`, oldest first, with its slot's values. */
  forEach(sinceMs: number, each: (timeMs: number, lengthMs: number, values: Float32Array) => void): void {
    const n = this.size;
    for (let i = this.written - n; i < this.written; i++) {
      const slot = i % this.slots;
      if (this.times[slot] <= sinceMs) continue;
      each(this.times[slot], this.lengths[slot], this.values.subarray(slot * FIELDS, (slot + 1) * FIELDS));
    }
  }
}

const EVENT_FIELDS = ['activation', 'state'] as const;
const EVENT_NAMES: Readonly<Record<(typeof EVENT_FIELDS)[number], readonly string[]>> = { activation: ACT_NAMES, state: STATE_NAMES };

export interface HistoryEvent {
  /** ms since the epoch. */
  readonly time: number;
  readonly field: 'activation' | 'state';
  readonly old: string;
  readonly new: string;
}

/** Fixed-size ring of a member's changes: time, which field, old and new code. */
class EventRing {
  private readonly times = new Float64Array(EVENT_SLOTS);
  /** field << 16 | old << 8 | new. */
  private readonly codes = new Uint32Array(EVENT_SLOTS);
  private written = 0;

  get memoryBytes(): number {
    return this.times.byteLength + this.codes.byteLength;
  }

  push(timeMs: number, field: number, old: number, now: number): void {
    const slot = this.written % EVENT_SLOTS;
    this.times[slot] = timeMs;
    this.codes[slot] = (field << 16) | (old << 8) | now;
    this.written++;
  }

  /** Events after both times, oldest first. */
  read(afterMs: number): HistoryEvent[] {
    const out: HistoryEvent[] = [];
    for (let i = Math.max(0, this.written - EVENT_SLOTS); i < this.written; i++) {
      const slot = i % EVENT_SLOTS;
      if (this.times[slot] <= afterMs) continue;
      const c = this.codes[slot];
      const field = EVENT_FIELDS[c >>> 16];
      const names = EVENT_NAMES[field];
      out.push({ time: this.times[slot], field, old: names[(c >>> 8) & 0xff], new: names[c & 0xff] });
    }
    return out;
  }
}

/**
 * The q-quantile (0..1) of durations bucketed like DURATION_BUCKETS (plus the overflow slot), in
 * seconds: linear within the bucket that holds it; the largest bound when it falls in the overflow;
 * NaN when there is nothing.
 */
export function bucketQuantile(durations: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let b = 0; b < durations.length; b++) total += durations[b];
  if (total <= 0) return NaN;
  const rank = q * total;
  let below = 0;
  for (let b = 0; b < DURATION_BUCKETS.length; b++) {
    const n = durations[b];
    if (n > 0 && below + n >= rank) {
      const lower = b === 0 ? 0 : DURATION_BUCKETS[b - 1];
      return lower + (DURATION_BUCKETS[b] - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return DURATION_BUCKETS[DURATION_BUCKETS.length - 1];
}

/** States that alternate with traffic count as one: a change between them is no event. */
const stateKind = (s: StateCode): number => (s === State.IDLE || s === State.OK || s === State.BUSY ? State.OK : s);

interface MemberHistory {
  readonly samples: SampleRing;
  readonly events: EventRing;
  activation: number;
  state: StateCode;
}

interface LbHistory {
  readonly samples: SampleRing;
  readonly members: Map<string, MemberHistory>;
}

/** One series as mime=json gives it: columns of equal length, oldest first. */
export interface SeriesJson {
  /** End of each sample's interval, ms since the epoch. */
  readonly time: number[];
  /** Length of each interval, seconds. */
  readonly seconds: number[];
  readonly requests_per_sec: number[];
  readonly member_errors_per_sec: number[];
  readonly client_errors_per_sec: number[];
  readonly balancer_errors_per_sec: number[];
  /** lb only: requests no member could serve, per second. */
  readonly no_member_per_sec?: number[];
  /** null when no request ended in the interval. */
  readonly p50_ms: (number | null)[];
  readonly p95_ms: (number | null)[];
  readonly busy: number[];
  readonly sessions: number[];
}

export interface HistoryJson {
  readonly interval_ms: number;
  readonly slots: number;
  /** The balancer's clock when answering, ms since the epoch. */
  readonly now: number;
  readonly balancers: {
    readonly name: string;
    readonly samples: SeriesJson;
    readonly members: { readonly name: string; readonly samples: SeriesJson; readonly events: HistoryEvent[] }[];
  }[];
}

export interface HistoryQuery {
  /** Only this lb (null: every lb). */
  readonly lb: string | null;
  /** Only this member of `lb` (null: every member). */
  readonly member: string | null;
  /** Only samples and events after this time (ms since the epoch; 0: all). */
  readonly sinceMs: number;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const msOrNull = (sec: number) => (Number.isNaN(sec) ? null : Math.round(sec * 10000) / 10);

function seriesJson(ring: SampleRing, sinceMs: number, lb: boolean): SeriesJson {
  const s = {
    time: [] as number[], seconds: [] as number[], requests_per_sec: [] as number[], member_errors_per_sec: [] as number[],
    client_errors_per_sec: [] as number[], balancer_errors_per_sec: [] as number[], no_member_per_sec: [] as number[],
    p50_ms: [] as (number | null)[], p95_ms: [] as (number | null)[], busy: [] as number[], sessions: [] as number[],
  };
  ring.forEach(sinceMs, (time, lengthMs, v) => {
    const sec = Math.max(lengthMs, 1) / 1000;
    s.time.push(time);
    s.seconds.push(round3(lengthMs / 1000));
    s.requests_per_sec.push(round3(v[F.requests] / sec));
    s.member_errors_per_sec.push(round3(v[F.memberErrors] / sec));
    s.client_errors_per_sec.push(round3(v[F.clientErrors] / sec));
    s.balancer_errors_per_sec.push(round3(v[F.balancerErrors] / sec));
    s.no_member_per_sec.push(round3(v[F.noMember] / sec));
    s.p50_ms.push(msOrNull(v[F.p50]));
    s.p95_ms.push(msOrNull(v[F.p95]));
    s.busy.push(v[F.busy]);
    s.sessions.push(v[F.sessions]);
  });
  if (lb) return s;
  const { no_member_per_sec: _none, ...member } = s;
  return member;
}

export class History {
  private readonly lbs = new Map<string, LbHistory>();
  private lastSampleMs: number;
  /** Scratch for one sample and for an lb's summed duration buckets. */
  private readonly sample = new Float64Array(FIELDS);
  private readonly lbSample = new Float64Array(FIELDS);
  private readonly lbDurations = new Float64Array(DURATION_BUCKETS.length + 1);

  constructor(
    readonly intervalMs: number,
    startMs: number,
    readonly slots: number = HISTORY_SLOTS,
  ) {
    this.lastSampleMs = startMs;
  }

  /** Bytes of ring memory now held (fixed per lb and member, whatever the traffic). */
  get memoryBytes(): number {
    let n = 0;
    for (const l of this.lbs.values()) {
      n += l.samples.memoryBytes;
      for (const m of l.members.values()) n += m.samples.memoryBytes + m.events.memoryBytes;
    }
    return n;
  }

  private lbHistory(name: string): LbHistory {
    let l = this.lbs.get(name);
    if (l === undefined) this.lbs.set(name, (l = { samples: new SampleRing(this.slots), members: new Map() }));
    return l;
  }

  /** Notes every change of a member's activation or state since the last look, at nowMs. */
  noteChanges(nowMs: number, balancers: ReadonlyMap<string, Balancer>): void {
    for (const [lb, b] of balancers) {
      const l = this.lbHistory(lb);
      for (const m of b.members) {
        const h = l.members.get(m.name);
        if (h === undefined) {
          // First sight: the current values are the baseline, not a change.
          l.members.set(m.name, { samples: new SampleRing(this.slots), events: new EventRing(), activation: m.activation, state: m.state });
          continue;
        }
        if (h.activation !== m.activation) h.events.push(nowMs, 0, h.activation, m.activation);
        if (stateKind(h.state) !== stateKind(m.state)) h.events.push(nowMs, 1, h.state, m.state);
        h.activation = m.activation;
        h.state = m.state;
      }
    }
  }

  /** One sample of every lb and member: `counts` is what the interval ending at nowMs counted. */
  record(nowMs: number, balancers: ReadonlyMap<string, Balancer>, counts: IntervalCounts, drains: DrainRegistry): void {
    this.noteChanges(nowMs, balancers);
    const lengthMs = Math.max(0, nowMs - this.lastSampleMs);
    this.lastSampleMs = nowMs;
    const v = this.sample;
    const lv = this.lbSample;
    const durations = this.lbDurations;
    for (const [lb, b] of balancers) {
      const l = this.lbHistory(lb);
      const c = counts[lb];
      const trackers = drains.trackersOf(b);
      lv.fill(0);
      durations.fill(0);
      for (const m of b.members) {
        const mc: MemberCounts | undefined = c?.members[m.name];
        v.fill(0);
        if (mc !== undefined) {
          v[F.requests] = mc.requests;
          for (let k = 0; k < ERROR_KINDS.length; k++) v[KIND_FIELD[k]] += mc.errors[k];
          for (let d = 0; d < durations.length; d++) durations[d] += mc.durations[d];
        }
        v[F.p50] = mc === undefined ? NaN : bucketQuantile(mc.durations, 0.5);
        v[F.p95] = mc === undefined ? NaN : bucketQuantile(mc.durations, 0.95);
        v[F.busy] = m.busy;
        v[F.sessions] = trackers[m.index].distinct(nowMs);
        (l.members.get(m.name) as MemberHistory).samples.push(nowMs, lengthMs, v);
        for (const f of LB_SUMS) lv[f] += v[f];
      }
      lv[F.requests] = c?.requests ?? 0;
      lv[F.noMember] = c?.noMember ?? 0;
      lv[F.p50] = bucketQuantile(durations, 0.5);
      lv[F.p95] = bucketQuantile(durations, 0.95);
      lv[F.busy] = b.lb.busy;
      l.samples.push(nowMs, lengthMs, lv);
    }
  }

  /** Forgets lbs and members these balancers do not have (after a reload removed them). */
  prune(balancers: ReadonlyMap<string, Balancer>): void {
    for (const [lb, l] of this.lbs) {
      const b = balancers.get(lb);
      if (b === undefined) {
        this.lbs.delete(lb);
        continue;
      }
      for (const name of l.members.keys()) if (b.memberByName(name) === undefined) l.members.delete(name);
    }
  }

  /** The history of the current balancers (optionally one lb, one member, only newer samples). */
  toJson(balancers: ReadonlyMap<string, Balancer>, q: HistoryQuery, nowMs: number): HistoryJson {
    const oldest = nowMs - this.slots * this.intervalMs;
    const after = Math.max(q.sinceMs, oldest);
    const out: HistoryJson['balancers'][number][] = [];
    for (const [lb, b] of balancers) {
      if (q.lb !== null && q.lb !== lb) continue;
      const l = this.lbs.get(lb);
      const members = b.members
        .filter((m) => q.member === null || q.member === m.name)
        .map((m) => {
          const h = l?.members.get(m.name);
          return { name: m.name, samples: seriesJson(h?.samples ?? EMPTY, q.sinceMs, false), events: h?.events.read(after) ?? [] };
        });
      out.push({ name: lb, samples: seriesJson(l?.samples ?? EMPTY, q.sinceMs, true), members });
    }
    return { interval_ms: this.intervalMs, slots: this.slots, now: nowMs, balancers: out };
  }
}

const EMPTY = new SampleRing(1);
