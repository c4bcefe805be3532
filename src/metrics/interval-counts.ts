/**
 * What the request accumulators counted since the last look: the input of the history (history.ts).
 * The accumulators only ever count up (they feed Prometheus counters), so an interval's counts are
 * the difference to a mark kept per record. Taking them reads the records and allocates a small
 * plain object per member, once per history interval: nothing is added to the request path.
 *
 * The counts are plain JSON so that, with `--processes`, every worker takes its own and the primary
 * sums them (sumCounts): counters add up, and duration buckets add up bucket by bucket, so the
 * percentiles computed from the sum are those of all the requests.
 */
import { CODE_CLASSES, DURATION_BUCKETS, ERROR_KINDS, type Accumulators, type LbRecord, type MemberRecord } from './accumulators.js';

export interface MemberCounts {
  /** Requests the member answered. */
  requests: number;
  /** Failed attempts, indexed like ERROR_KINDS. */
  errors: number[];
  /** Request durations per bucket (DURATION_BUCKETS, then the overflow), not cumulative. */
  durations: number[];
}

export interface LbCounts {
  /** Requests through the lb, our own 503s included. */
  requests: number;
  /** Requests no member could serve. */
  noMember: number;
  members: Record<string, MemberCounts>;
}

/** By lb name. */
export type IntervalCounts = Record<string, LbCounts>;

const MEMBER_MARK = CODE_CLASSES.length + ERROR_KINDS.length + DURATION_BUCKETS.length + 1;

/** Interval counts of one Accumulators: each take() returns what was counted since the previous one. */
export class CountsTaker {
  /** Each record's totals at the previous take; a record a reload re-created starts from zero. */
  private readonly marks = new WeakMap<MemberRecord | LbRecord, Float64Array>();

  constructor(private readonly acc: Accumulators) {}

  private mark(r: MemberRecord | LbRecord, size: number): Float64Array {
    let m = this.marks.get(r);
    if (m === undefined) this.marks.set(r, (m = new Float64Array(size)));
    return m;
  }

  take(): IntervalCounts {
    const out: IntervalCounts = {};
    for (const l of this.acc.lbs.values()) {
      const lm = this.mark(l, CODE_CLASSES.length + 1);
      let requests = 0;
      for (let c = 0; c < CODE_CLASSES.length; c++) {
        requests += l.requests[c] - lm[c];
        lm[c] = l.requests[c];
      }
      const lbCounts: LbCounts = { requests, noMember: l.noMember - lm[CODE_CLASSES.length], members: {} };
      lm[CODE_CLASSES.length] = l.noMember;
      for (const r of l.members.values()) {
        const mm = this.mark(r, MEMBER_MARK);
        let i = 0;
        let answered = 0;
        for (let c = 0; c < CODE_CLASSES.length; c++, i++) {
          answered += r.requests[c] - mm[i];
          mm[i] = r.requests[c];
        }
        const errors = new Array<number>(ERROR_KINDS.length);
        for (let k = 0; k < ERROR_KINDS.length; k++, i++) {
          errors[k] = r.errors[k] - mm[i];
          mm[i] = r.errors[k];
        }
        const durations = new Array<number>(r.durations.length);
        for (let b = 0; b < r.durations.length; b++, i++) {
          durations[b] = r.durations[b] - mm[i];
          mm[i] = r.durations[b];
        }
        lbCounts.members[r.member] = { requests: answered, errors, durations };
      }
      out[l.lb] = lbCounts;
    }
    return out;
  }
}

/** The sum of several processes' counts of the same interval. */
export function sumCounts(all: readonly IntervalCounts[]): IntervalCounts {
  const out: IntervalCounts = {};
  for (const counts of all) {
    for (const [lb, l] of Object.entries(counts)) {
      const into = (out[lb] ??= { requests: 0, noMember: 0, members: {} });
      into.requests += l.requests;
      into.noMember += l.noMember;
      for (const [name, m] of Object.entries(l.members)) {
        const mi = (into.members[name] ??= { requests: 0, errors: new Array<number>(ERROR_KINDS.length).fill(0), durations: new Array<number>(DURATION_BUCKETS.length + 1).fill(0) });
        mi.requests += m.requests;
        m.errors.forEach((v, k) => (mi.errors[k] += v));
        m.durations.forEach((v, b) => (mi.durations[b] += v));
      }
    }
  }
  return out;
}
