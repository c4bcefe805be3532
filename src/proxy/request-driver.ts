/**
 * The lb retry loop, once for every kind of request (plain HTTP and WebSocket upgrades alike): the
 * routing core chooses, the runner makes one attempt on the chosen member, and this module keeps
 * the books — metrics, drain tracking, failovers, and the request log line at the end. What an
 * attempt is (forward and relay a reply, or carry an upgrade) is the runner's business.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LbRequest } from '../routing/balancer.js';
import type { AttemptInfo, AttemptOutcome, OutcomeKind } from '../routing/types.js';
import type { LbTarget, ProxyEnv } from './forward.js';
import { logRequest } from './request-log.js';

/** One kind of request's attempt on a member. */
export interface AttemptRunner {
  /** One lb attempt on member `i` (with the member's own retries), filling `outcome`. */
  attempt(i: number, info: AttemptInfo, outcome: AttemptOutcome): Promise<void>;
  /** The client went away: a failed attempt is the client's fault. */
  readonly clientGone: boolean;
  /** The request body could still go to another member. */
  readonly replayable: boolean;
  /** An attempt threw (a bug of ours): whatever it started towards the client is beyond saving. */
  broken(outcome: AttemptOutcome): void;
}

/** How the loop ended. */
export interface Driven {
  /** A member's reply (or upgrade) reached the client. */
  answered: boolean;
  /** The member that answered, or the last one tried when none did ('' if none was). */
  member: string;
  /** The routing core's final status when nobody answered (0 when someone did). */
  status: number;
  reason: string;
  attempts: number;
  /** `member:kind` of each failed attempt, comma-separated (for the log). */
  failovers: string;
  /** The last attempt's outcome. */
  readonly outcome: AttemptOutcome;
}

function newOutcome(): AttemptOutcome {
  return { kind: 'success', status: 0, responseStarted: false, bodyReplayable: true, bytesSent: 0, bytesReceived: 0 };
}

function resetOutcome(o: AttemptOutcome): void {
  o.kind = 'success';
  o.status = 0;
  o.responseStarted = false;
  o.bodyReplayable = true;
  o.bytesSent = 0;
  o.bytesReceived = 0;
}

export async function drive(target: LbTarget, r: LbRequest, runner: AttemptRunner, env: ProxyEnv): Promise<Driven> {
  const balancer = target.balancer;
  const d: Driven = { answered: false, member: '', status: 0, reason: '', attempts: 0, failovers: '', outcome: newOutcome() };
  const outcome = d.outcome;
  /** Why the previous attempt failed; reported as a failover once another attempt starts. */
  let failedBefore: OutcomeKind | null = null;
  for (;;) {
    const step = balancer.next(r);
    if (step.kind === 'wait') {
      await sleep(step.ms);
      continue;
    }
    if (step.kind === 'done') {
      d.status = step.status;
      d.reason = step.reason;
      return d;
    }
    const i = step.member;
    const info = balancer.startAttempt(r, i);
    if (info === null) continue; // busy_limit: the core counted it; choose again
    if (r.stickyId !== null) env.drains.trackersOf(balancer)[i].record(r.stickyId, balancer.clock.now());
    const m = balancer.members[i];
    d.attempts++;
    if (failedBefore !== null) env.observer.failover(target.name, failedBefore);
    env.observer.attemptStart(target.name, m.name);
    resetOutcome(outcome);
    try {
      await runner.attempt(i, info, outcome);
    } catch (err) {
      // Never leave the attempt open in the routing core: whatever broke, the attempt ends here.
      env.logger.error({ err, lb: target.name, member: m.name }, 'attempt failed inside the balancer');
      outcome.kind = outcome.responseStarted ? 'read' : 'protocol';
      runner.broken(outcome);
    }
    if (runner.clientGone && outcome.kind !== 'success') outcome.kind = 'client_error';
    outcome.bodyReplayable = runner.replayable;
    env.observer.attemptEnd(target.name, m.name, outcome.kind, outcome.bytesSent, outcome.bytesReceived);
    balancer.endAttempt(r, i, outcome);
    d.member = m.name;
    d.answered = outcome.responseStarted;
    failedBefore = null;
    if (outcome.kind !== 'success' && outcome.kind !== 'client_error') {
      d.failovers = d.failovers ? `${d.failovers},${m.name}:${outcome.kind}` : `${m.name}:${outcome.kind}`;
      failedBefore = outcome.kind;
    }
  }
}

/**
 * The request is over: metrics and its log line. `status` is what the client got; `member` is ''
 * unless a member answered.
 */
export function recordRequest(
  env: ProxyEnv,
  target: LbTarget,
  r: LbRequest,
  d: Driven,
  fields: { method: string; path: string; status: number; startedMs: number; clientGone: boolean },
): void {
  const member = d.answered ? d.member : '';
  const durationSec = (performance.now() - fields.startedMs) / 1000;
  env.observer.requestEnd(target.name, member, fields.status, durationSec, !d.answered);
  const kind = d.outcome.kind;
  logRequest(env.logger, {
    method: fields.method,
    path: fields.path,
    status: fields.status,
    ms: Math.round(durationSec * 1e4) / 10,
    lb: target.name,
    member,
    route: r.route,
    sticky: r.sticky,
    path_taken: r.path,
    attempts: d.attempts,
    failovers: d.failovers,
    reason: d.answered ? (kind === 'success' ? '' : kind) : d.reason,
    truncated: d.answered && kind !== 'success',
    client_gone: fields.clientGone,
  });
}
