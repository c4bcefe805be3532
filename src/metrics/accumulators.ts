/**
 * The request observer behind the metrics: the data path calls it synchronously for every request,
 * so it only bumps plain numbers in records looked up by lb and member name (two Map lookups, no
 * strings built, no prom-client call). prom-client reads these records at scrape time (families.ts).
 *
 * Records exist only for lbs and members the current farm has: an event for anything else (a
 * standalone worker, a member a reload just removed) goes to a shared sink that nobody publishes,
 * and prune() drops the records of whatever a reload removed so its series vanish.
 */
import type { Balancer } from '../routing/balancer.js';
import type { OutcomeKind } from '../routing/types.js';
import type { RequestObserver } from '../routing/observer.js';

/** Status classes by index: status / 100 (statuses outside 100..599 count as 5xx). */
export const CODE_CLASSES = ['', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Failed attempt kinds (every OutcomeKind but success), in a fixed order for arrays. */
export const ERROR_KINDS = ['connect', 'read', 'reply_timeout', 'protocol', 'busy', 'fail_status', 'client_error', 'too_large', 'local'] as const;
const KIND_INDEX: Readonly<Record<OutcomeKind, number>> = {
  success: -1,
  connect: 0,
  read: 1,
  reply_timeout: 2,
  protocol: 3,
  busy: 4,
  fail_status: 5,
  client_error: 6,
  too_large: 7,
  local: 8,
};

export function codeClassIndex(status: number): number {
  return status >= 100 && status < 600 ? (status / 100) | 0 : 5;
}

/** Request duration buckets, seconds (upper bounds): prom-client's defaults plus the long tail of slow backends. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

export class MemberRecord {
  readonly requests = new Float64Array(CODE_CLASSES.length);
  readonly errors = new Float64Array(ERROR_KINDS.length);
  inFlight = 0;
  sentBytes = 0;
  receivedBytes = 0;

  /**
   * Request durations per bucket, not cumulative; the last slot counts those above every bound.
   * A histogram of our own: prom-client's labelled observe hashed the labels on every request.
   */
  readonly durations = new Float64Array(DURATION_BUCKETS.length + 1);
  durationSum = 0;

  constructor(
    readonly lb: string,
    readonly member: string,
  ) {}

  observeDuration(sec: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && sec > DURATION_BUCKETS[i]) i++;
    this.durations[i]++;
    this.durationSum += sec;
  }
}

export class LbRecord {
  readonly requests = new Float64Array(CODE_CLASSES.length);
  /** Failovers by the kind of the failed attempt (indexed like ERROR_KINDS). */
  readonly failovers = new Float64Array(ERROR_KINDS.length);
  noMember = 0;
  readonly members = new Map<string, MemberRecord>();

  constructor(readonly lb: string) {}
}

/** Where events for unknown lbs and members go: counted, never published. */
const SINK_LB = new LbRecord('');
const SINK_MEMBER = new MemberRecord('', '');

export class Accumulators implements RequestObserver {
  readonly lbs = new Map<string, LbRecord>();

  constructor(private readonly getBalancers: () => ReadonlyMap<string, Balancer>) {}

  private lbRecord(lb: string): LbRecord {
    const r = this.lbs.get(lb);
    if (r !== undefined) return r;
    if (!this.getBalancers().has(lb)) return SINK_LB;
    const created = new LbRecord(lb);
    this.lbs.set(lb, created);
    return created;
  }

  private memberRecord(lb: string, member: string): MemberRecord {
    const l = this.lbRecord(lb);
    const r = l.members.get(member);
    if (r !== undefined) return r;
    if (l === SINK_LB || this.getBalancers().get(lb)?.memberByName(member) === undefined) return SINK_MEMBER;
    const created = new MemberRecord(lb, member);
    l.members.set(member, created);
    return created;
  }

  attemptStart(lb: string, member: string): void {
    this.memberRecord(lb, member).inFlight++;
  }

  attemptEnd(lb: string, member: string, kind: OutcomeKind, bytesSent: number, bytesReceived: number): void {
    const r = this.memberRecord(lb, member);
    if (r.inFlight > 0) r.inFlight--;
    r.sentBytes += bytesSent;
    r.receivedBytes += bytesReceived;
    const k = KIND_INDEX[kind];
    if (k >= 0) r.errors[k]++;
  }

  failover(lb: string, reason: OutcomeKind): void {
    const k = KIND_INDEX[reason];
    if (k >= 0) this.lbRecord(lb).failovers[k]++;
  }

  requestEnd(lb: string, member: string, status: number, durationSec: number, noMember: boolean): void {
    const cls = codeClassIndex(status);
    const l = this.lbRecord(lb);
    l.requests[cls]++;
    if (noMember) l.noMember++;
    if (member === '') return;
    const m = this.memberRecord(lb, member);
    m.requests[cls]++;
    m.observeDuration(durationSec);
  }

  /** Drops the records of lbs and members the current farm no longer has. */
  prune(): void {
    const balancers = this.getBalancers();
    for (const [name, l] of this.lbs) {
      const b = balancers.get(name);
      for (const member of l.members.keys()) {
        if (b?.memberByName(member) !== undefined) continue;
        l.members.delete(member);
      }
      if (b === undefined) this.lbs.delete(name);
    }
  }
}
