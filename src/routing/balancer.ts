/**
 * The lb worker's routing core: the retry loop of one request as a step machine
 * (docs/load-balancing.md#request-loop), one attempt's start and end (#one-attempt,
 * #state-transitions, #attempt-outcomes), maintenance (#maintenance) and the status worker's
 * management operations (docs/status-worker.md#update-codes, #reset-and-recover). Pure: time comes
 * from the injected Clock, nothing here does I/O.
 *
 * The data path drives a request like this:
 *   const r = b.begin(view);
 *   for (let s = b.next(r); s.kind !== 'done'; s = b.next(r)) {
 *     if (s.kind === 'wait') { await sleep(s.ms); continue; }
 *     const info = b.startAttempt(r, s.member);
 *     if (info === null) continue;                       // busy_limit: already accounted
 *     b.endAttempt(r, s.member, await forward(info));     // outcome of the member's own retries
 *   }
 */
import type { LbConfig, RuleExtensions } from '../config/model.js';
import { domainOfRoute } from '../config/values.js';
import { LB_ATTRIBUTES, LB_BY_KEY, MEMBER_ATTRIBUTES, MEMBER_BY_KEY, type AttrValue, type LbAttribute, type MemberAttribute } from './attributes.js';
import { initialLbSettings, LbRuntime, type LbSettings } from './lb-runtime.js';
import { initialMemberSettings, MemberRuntime, type MemberSettings } from './member.js';
import { LbRequest, Phase } from './request.js';
import { extractSessionId } from './session-id.js';
import { lbMults } from './lb-mult.js';
import { FORCE_REFUSED, selectMember, type SelectionContext } from './selection.js';
import { decay, forceRecovery, maxLbValue, recoverMembers } from './maintenance.js';
import { outcomeRecoverable, outcomeStatus } from './outcome.js';
import { inErrorState, type CheckResult, type HealthVerdict } from './health.js';
import {
  ACT_NAMES,
  Act,
  Method,
  State,
  type ActCode,
  type AttemptInfo,
  type AttemptOutcome,
  type Clock,
  type RequestView,
  type StateCode,
  type Step,
} from './types.js';

export { LbRequest } from './request.js';
export { LbRuntime } from './lb-runtime.js';

/** Reasons reported in LbRequest.reason and the 'done' step besides the outcome kinds. */
export const Reason = {
  NO_MEMBER: 'no_member',
  STICKY_FORCE: 'sticky_session_force',
  BUSY_LIMIT: 'busy_limit',
} as const;

/** Local-state arrays kept for reuse; more concurrent requests than this simply allocate. */
const POOL_MAX = 256;

export class Balancer implements SelectionContext {
  readonly lb: LbRuntime;
  readonly members: readonly MemberRuntime[];
  readonly clock: Clock;
  /** worker.maintain in seconds; 0 disables maintenance (docs/load-balancing.md#recovery). */
  readonly maintainSec: number;

  private readonly byName = new Map<string, MemberRuntime>();
  private routeIndex = new Map<string, number>();
  /** Attempt steps are immutable, so one per member serves every request. */
  private readonly attemptSteps: readonly Step[];
  private readonly statePool: Uint8Array[] = [];
  private readonly overridesByRule = new WeakMap<RuleExtensions, Int8Array | null>();
  /** The settings records, writable only here: this class is the gate (see "the gate" below). */
  private readonly lbSettings: LbSettings;
  private readonly memberSettings: readonly MemberSettings[];
  /**
   * Several processes share member states (`--processes`): called when an attempt moved member i
   * into ERROR or out of an error state to OK, so the other processes can take the state over.
   */
  stateShared: ((i: number) => void) | null = null;
  /** Recovery (ERROR → RECOVER after recover_time) is decided by another process, once for all. */
  recoveryElsewhere = false;

  constructor(config: LbConfig, opts: { maintainSec: number; clock: Clock }) {
    const now = opts.clock.now();
    this.clock = opts.clock;
    this.maintainSec = Math.max(0, opts.maintainSec);
    this.lbSettings = initialLbSettings(config);
    this.lb = new LbRuntime(config, this.lbSettings, now);
    this.memberSettings = config.members.map((mc) => initialMemberSettings(mc, now));
    this.members = config.members.map((mc, i) => new MemberRuntime(i, mc, this.memberSettings[i], now));
    for (const m of this.members) this.byName.set(m.name, m);
    this.attemptSteps = this.members.map((m) => Object.freeze({ kind: 'attempt', member: m.index }) as Step);
    this.rebuildRouteIndex();
    this.updateLbMults();
  }

  memberByName(name: string): MemberRuntime | undefined {
    return this.byName.get(name);
  }

  indexOfRoute(route: string): number {
    const i = this.routeIndex.get(route);
    return i === undefined ? -1 : i;
  }

  /**
   * The rule's per-request activation for member i if it sets one, else the member's
   * (docs/load-balancing.md#eligibility).
   */
  effectiveActivation(r: LbRequest, i: number): ActCode {
    const o = r.overrides;
    if (o !== null) {
      const a = o[i];
      if (a >= 0) return a as ActCode;
    }
    return this.members[i].activation;
  }

  // ---------------------------------------------------------------- request loop

  /** Starts a request: maintenance if due, BUSY release, session id extraction, local state copy. */
  begin(req: RequestView): LbRequest {
    this.maintain();
    const rule = req.rule;
    const r = new LbRequest(
      req.method,
      req.secure,
      rule !== null && rule.stateless,
      rule !== null && rule.setSessionCookie,
    );
    r.overrides = rule === null ? null : this.overridesFor(rule);
    const members = this.members;
    const local = this.statePool.pop() ?? new Uint8Array(members.length);
    for (let i = 0; i < members.length; i++) {
      const m = members[i];
      // A BUSY member is released when it is below its busy_limit and has a free pool slot
      // (in-flight attempts below the pool size).
      if (
        m.state === State.BUSY &&
        (m.busyLimit <= 0 || m.busy < m.busyLimit) &&
        (m.config.connectionPoolSize <= 0 || m.busy < m.config.connectionPoolSize)
      ) {
        m.state = State.OK;
      }
      local[i] = m.state;
    }
    r.local = local;
    if (this.lb.stickySession && !(rule !== null && rule.stickyIgnore)) {
      const cfg = this.lb.config;
      const pathName = rule !== null && rule.sessionPath !== null ? rule.sessionPath : cfg.sessionPath;
      const cookieName = rule !== null && rule.sessionCookie !== null ? rule.sessionCookie : cfg.sessionCookie;
      r.sessionId = extractSessionId(req.path, req.cookies, pathName, cookieName);
    }
    return r;
  }

  /** One step of the retry loop (docs/load-balancing.md#request-loop, #retries). */
  next(r: LbRequest): Step {
    if (r.phase === Phase.DONE) return this.finish(r);
    if (r.phase === Phase.CHOSEN || r.phase === Phase.IN_FLIGHT) {
      throw new Error(`lb ${this.lb.name}: next() called while an attempt on member ${r.member} is pending`);
    }
    if (!r.recoverable) return this.finish(r);
    const lb = this.lb;
    const n = this.members.length;
    if (r.phase === Phase.WAITING) this.startRound(r);
    for (;;) {
      if (r.attempts >= n || r.attempts >= lb.lbRetries) {
        r.round++;
        if (r.round >= lb.retries) return this.finish(r);
        if (lb.retryIntervalMs > 0) {
          r.phase = Phase.WAITING;
          return { kind: 'wait', ms: lb.retryIntervalMs };
        }
        this.startRound(r);
      }
      r.lastStatus = 503;
      const i = selectMember(this, r);
      if (i >= 0) {
        if (r.forcedSome && !r.sticky) r.path = 'forced';
        r.member = i;
        r.phase = Phase.CHOSEN;
        return this.attemptSteps[i];
      }
      if (!r.forced) {
        // Once per request: bring every ERROR member back as FORCE; this costs no attempt slot.
        r.forced = true;
        if (forceRecovery(this.members, r.local) > 0) {
          r.forcedSome = true;
          continue;
        }
      }
      r.reason = i === FORCE_REFUSED ? Reason.STICKY_FORCE : Reason.NO_MEMBER;
      r.attempts++;
    }
  }

  /**
   * Starts the attempt on `member` that next() chose (docs/load-balancing.md#one-attempt). Returns
   * null when the member is over its busy_limit: it is marked BUSY, the slot is used, and the caller
   * continues with next().
   */
  startAttempt(r: LbRequest, member: number): AttemptInfo | null {
    if (r.phase !== Phase.CHOSEN || r.member !== member) {
      throw new Error(`lb ${this.lb.name}: startAttempt(${member}) without a matching attempt step`);
    }
    const m = this.members[member];
    const lb = this.lb;
    if (m.state === State.RECOVER) {
      m.state = State.PROBE;
      r.local[member] = State.PROBE;
    }
    if (m.busyLimit > 0 && m.busy >= m.busyLimit) {
      if (m.state !== State.ERROR) {
        m.state = State.BUSY;
        r.local[member] = State.BUSY;
      }
      r.lastStatus = 503;
      r.reason = Reason.BUSY_LIMIT;
      r.attempts++;
      r.phase = Phase.SELECT;
      return null;
    }
    const now = this.clock.now();
    if (++lb.busy > lb.maxBusy) lb.maxBusy = lb.busy;
    if (++m.busy > m.maxBusy) m.maxBusy = m.busy;
    m.elected++;
    const newSession = r.sessionId === null && !r.stateless;
    const method = lb.method;
    if (method === Method.REQUEST || method === Method.BUSYNESS || (newSession && (method === Method.SESSIONS || method === Method.NEXT))) {
      m.lbValue += m.lbMult;
    }
    if (newSession) m.sessions++;
    if (r.sticky) m.lastStickyTime = now;
    if (r.route === '') r.route = m.route;
    r.phase = Phase.IN_FLIGHT;
    return {
      activation: ACT_NAMES[this.effectiveActivation(r, member)],
      route: r.route,
      setCookie: !r.sticky && (r.ruleSetCookie || lb.config.setSessionCookie) ? this.stickinessCookie(m, r.secure) : null,
    };
  }

  /**
   * Ends the attempt: counters, lb_value after-return rule, member state and recoverability
   * (docs/load-balancing.md#one-attempt, #state-transitions, #attempt-outcomes).
   */
  endAttempt(r: LbRequest, member: number, outcome: AttemptOutcome): void {
    if (r.phase !== Phase.IN_FLIGHT || r.member !== member) {
      throw new Error(`lb ${this.lb.name}: endAttempt(${member}) without a matching startAttempt`);
    }
    const m = this.members[member];
    const lb = this.lb;
    const local = r.local;
    const now = this.clock.now();
    const before = m.state;
    if (lb.busy > 0) lb.busy--;
    if (m.busy > 0) m.busy--;
    m.transferred += outcome.bytesSent;
    m.read += outcome.bytesReceived;
    if (lb.method === Method.TRAFFIC) {
      m.lbValue += (outcome.bytesSent + outcome.bytesReceived) * m.lbMult;
    } else if (lb.method === Method.BUSYNESS) {
      m.lbValue = m.lbValue >= m.lbMult ? m.lbValue - m.lbMult : 0;
    }
    // Provisionally OK unless in global error (or the attempt never reached it); refined per outcome below.
    if (m.state !== State.ERROR && outcome.kind !== 'local') {
      m.state = State.OK;
      local[member] = State.OK;
    }
    switch (outcome.kind) {
      case 'success':
        m.state = State.OK;
        local[member] = State.OK;
        m.firstErrorTime = 0;
        m.lastErrorTime = 0;
        break;
      case 'local':
        // Our own shortage: the member keeps whatever state it had before this attempt.
        local[member] = State.ERROR;
        break;
      case 'client_error':
      case 'too_large':
        // Never the member's fault: it stays OK, but this request does not go back to it.
        m.state = State.OK;
        local[member] = State.ERROR;
        m.firstErrorTime = 0;
        m.lastErrorTime = 0;
        m.clientErrors++;
        break;
      case 'fail_status':
        if (outcome.status > 0) {
          this.globalError(m, now);
        } else {
          m.state = State.OK;
          m.firstErrorTime = 0;
          m.lastErrorTime = 0;
        }
        local[member] = State.ERROR;
        break;
      case 'reply_timeout':
        m.replyTimeouts++;
        if (m.replyTimeouts > lb.maxReplyTimeouts) this.globalError(m, now);
        local[member] = State.ERROR;
        break;
      case 'protocol':
        local[member] = State.ERROR;
        break;
      case 'busy':
        // As for a busy_limit refusal: a member in global ERROR stays there (BUSY would be released
        // at the next request's start, skipping recover_time).
        if (m.state !== State.ERROR) m.state = State.BUSY;
        local[member] = State.BUSY;
        break;
      case 'connect':
      case 'read':
        // Global only if nothing else is in flight on the member, or the error has lingered too long.
        m.errors++;
        if (
          m.busy === 0 ||
          lb.errorEscalationTimeSec === 0 ||
          (m.firstErrorTime > 0 && now - m.firstErrorTime >= lb.errorEscalationTimeSec * 1000)
        ) {
          m.state = State.ERROR;
        }
        local[member] = State.ERROR;
        if (m.firstErrorTime === 0) m.firstErrorTime = now;
        m.lastErrorTime = now;
        break;
    }
    if (this.stateShared !== null && m.state !== before && (m.state === State.ERROR || (before !== State.OK && before !== State.IDLE && before !== State.BUSY))) {
      this.stateShared(member);
    }
    r.lastStatus = outcomeStatus(outcome);
    if (outcome.kind !== 'success') r.reason = outcome.kind;
    r.recoverable = outcomeRecoverable(outcome, m.recoveryOptions, r.httpMethod);
    r.attempts++;
    r.phase = Phase.SELECT;
  }

  // ---------------------------------------------------------------- the gate

  /*
   * The only writer of live settings (routing/attributes.ts lists them): status updates, the state
   * file, reload carry-over and the drain policy all come through here. Every change moves the
   * record's generation; a change of a setting the transport is built from also moves the member's
   * transport generation, which the data path compares before each attempt. Values are trusted:
   * callers check them against the table's ranges first (the status worker, the state file).
   */

  /**
   * Sets member i's attribute `key` (a key of MEMBER_ATTRIBUTES) with mod_jk's side effects: an
   * activation change resets all lb_values (not for Busyness) and starts or ends the drain clock,
   * an lbfactor change recomputes every lb_mult, a route change derives an empty domain from the new
   * route (docs/status-worker.md#update-codes, vwn; uniqueness is the caller's, as in mod_jk).
   * False when the member already had that value.
   */
  setMember(i: number, key: string, value: AttrValue): boolean {
    const attr = MEMBER_BY_KEY.get(key);
    if (attr === undefined) throw new Error(`unknown member attribute ${key}`);
    return this.writeMember(i, attr, value);
  }

  /** Sets the lb's attribute `key` (a key of LB_ATTRIBUTES). False when it already had that value. */
  setLb(key: string, value: AttrValue): boolean {
    const attr = LB_BY_KEY.get(key);
    if (attr === undefined) throw new Error(`unknown lb attribute ${key}`);
    return this.writeLb(attr, value);
  }

  /** setMember(i, 'activation', …) by code. */
  setActivation(i: number, a: ActCode): boolean {
    return this.setMember(i, 'activation', ACT_NAMES[a]);
  }

  /** setMember(i, 'lbfactor', f) for an integer f ≥ 1 (lb_values stay). */
  setLbFactor(i: number, f: number): boolean {
    if (!Number.isInteger(f) || f < 1) return false;
    return this.setMember(i, 'lbfactor', f);
  }

  /** setMember(i, 'route', route). */
  setRoute(i: number, route: string): boolean {
    return this.setMember(i, 'route', route);
  }

  /**
   * Reload: take over the live state of the balancer this one replaces, member by member (by name).
   * A setting changed live there (it differs from what that balancer's configuration gave) keeps
   * its live value; otherwise this configuration's value stands. States and counters carry over as
   * they are, and so does each member's transport generation: a transport the new farm takes over
   * (same name, same settings) stays current.
   */
  carryOver(from: Balancer): void {
    const pristine = new Balancer(from.lb.config, { maintainSec: from.maintainSec, clock: from.clock });
    for (const a of LB_ATTRIBUTES) {
      const live = a.current(from.lb);
      if (live !== a.current(pristine.lb)) this.writeLb(a, live);
    }
    const pairs: [MemberRuntime, MemberRuntime][] = [];
    for (const old of from.members) {
      const next = this.byName.get(old.name);
      if (next === undefined) continue;
      pairs.push([old, next]);
      const base = pristine.members[old.index];
      // Table order: route before domain, as a live update.
      for (const a of MEMBER_ATTRIBUTES) {
        const live = a.current(old);
        if (live !== a.current(base)) this.writeMember(next.index, a, live);
      }
    }
    // Counters after every setting: an activation change above resets the lb_values.
    for (const [old, next] of pairs) {
      const s = this.memberSettings[next.index];
      if (next.activation === Act.DISABLED && old.activation === Act.DISABLED && old.disabledSince > 0) s.disabledSince = old.disabledSince;
      s.generation = Math.max(s.generation, old.generation) + 1;
      s.transportGeneration = old.transportGeneration;
      next.takeCounters(old);
    }
    this.lbSettings.generation = Math.max(this.lbSettings.generation, from.lb.generation) + 1;
    this.lb.takeCounters(from.lb);
  }

  private writeMember(i: number, attr: MemberAttribute, value: AttrValue): boolean {
    const m = this.members[i];
    if (attr.current(m) === value) return false;
    const s = this.memberSettings[i];
    attr.write(s, value);
    switch (attr.key) {
      case 'activation':
        s.disabledSince = s.activation === Act.DISABLED ? this.clock.now() : 0;
        if (this.lb.method !== Method.BUSYNESS) for (const x of this.members) x.lbValue = 0;
        break;
      case 'lbfactor':
        this.updateLbMults();
        break;
      case 'route':
        if (s.domain === '') s.domain = domainOfRoute(s.route);
        this.rebuildRouteIndex();
        break;
    }
    s.generation++;
    if (attr.applies.includes('transport')) s.transportGeneration++;
    return true;
  }

  private writeLb(attr: LbAttribute, value: AttrValue): boolean {
    if (attr.current(this.lb) === value) return false;
    attr.write(this.lbSettings, value);
    this.lbSettings.generation++;
    return true;
  }

  // ---------------------------------------------------------------- management (status worker)

  /**
   * Status "reset" (docs/status-worker.md#reset-and-recover): all members and the lb's max_busy, or
   * only member i.
   */
  reset(i?: number): void {
    const now = this.clock.now();
    if (i === undefined) {
      this.lb.maxBusy = 0;
      this.lb.lastResetTime = now;
      for (const m of this.members) m.resetCounters(now);
    } else {
      this.members[i].resetCounters(now);
    }
  }

  /**
   * Status "recover" (docs/status-worker.md#reset-and-recover): an ERROR member → RECOVER at the
   * current max lb_value.
   */
  recover(i: number): boolean {
    const m = this.members[i];
    if (m.state !== State.ERROR) return false;
    if (this.lb.method !== Method.BUSYNESS) m.lbValue = maxLbValue(this.members);
    m.replyTimeouts = 0;
    m.state = State.RECOVER;
    return true;
  }

  /**
   * Runs maintenance if at least one interval passed since the last run
   * (docs/load-balancing.md#maintenance).
   */
  maintain(): void {
    if (this.maintainSec <= 0) return;
    const lb = this.lb;
    const now = this.clock.now();
    const interval = this.maintainSec * 1000;
    const elapsed = now - lb.lastMaintainTime;
    if (elapsed < interval) return;
    lb.lastMaintainTime = now;
    const curmax = decay(this.members, lb.method, Math.floor(elapsed / interval));
    if (this.recoveryElsewhere) return;
    if (recoverMembers(this.members, lb.method, curmax, now, lb.recoverTimeSec, lb.errorEscalationTimeSec) === 0) {
      forceRecovery(this.members, null);
    }
  }

  /**
   * A member state decided by another process of this balancer (`--processes`): its error or its
   * recovery. lb_value stays this process's own (mod_jk's optimistic lb values).
   */
  adoptState(i: number, state: StateCode, firstErrorTime: number, lastErrorTime: number): void {
    const m = this.members[i];
    m.state = state;
    m.firstErrorTime = firstErrorTime;
    m.lastErrorTime = lastErrorTime;
  }

  /**
   * One active health check of member i came back (README "Health checks"). After `fails` failed
   * checks in a row the member goes to ERROR as a failed request puts it there (and each further
   * failure renews its error time, so recover_time counts from the last one); forced recovery and
   * maintenance treat it as any member in error. After `passes` passed checks in a row while in an
   * error state it goes back to OK at once, at the current max lb_value (no burst), as a recovered
   * member does. Checks are not traffic: no request counter moves. Returns what changed the state.
   */
  healthCheckResult(i: number, r: CheckResult): HealthVerdict {
    const m = this.members[i];
    const policy = m.config.healthCheck;
    if (policy === null || m.health === null) throw new Error(`lb ${this.lb.name}: member ${m.name} has no health checks`);
    const now = this.clock.now();
    const before = m.state;
    const verdict = m.health.record(r, now, inErrorState(before), policy);
    if (verdict === 'error') {
      if (before !== State.ERROR) m.firstErrorTime = now;
      m.state = State.ERROR;
      m.lastErrorTime = now;
    } else if (verdict === 'recover') {
      if (this.lb.method !== Method.BUSYNESS) m.lbValue = maxLbValue(this.members);
      m.replyTimeouts = 0;
      m.state = State.OK;
      m.firstErrorTime = 0;
      m.lastErrorTime = 0;
    }
    if (m.state === before) return 'none';
    this.stateShared?.(i);
    return verdict;
  }

  // ---------------------------------------------------------------- internals

  private startRound(r: LbRequest): void {
    // Local failure marks are forgotten; shared state may have changed while we slept.
    const local = r.local;
    for (let i = 0; i < this.members.length; i++) local[i] = this.members[i].state;
    r.attempts = 0;
    r.phase = Phase.SELECT;
  }

  private finish(r: LbRequest): Step {
    if (r.phase !== Phase.DONE) {
      r.phase = Phase.DONE;
      const local = r.detachLocal();
      if (local.length === this.members.length && this.statePool.length < POOL_MAX) this.statePool.push(local);
    }
    return { kind: 'done', status: r.lastStatus, reason: r.reason };
  }

  private globalError(m: MemberRuntime, now: number): void {
    m.errors++;
    m.state = State.ERROR;
    m.firstErrorTime = now;
    m.lastErrorTime = now;
  }

  /**
   * docs/load-balancing.md#stickiness-cookie: `<cookie>=.<route>;PATH=<path>;HttpOnly[;Secure]`,
   * with the lb's cookie name and path.
   */
  private stickinessCookie(m: MemberRuntime, secure: boolean): string {
    const cfg = this.lb.config;
    const path = cfg.sessionCookiePath === '' ? '' : ';PATH=' + cfg.sessionCookiePath;
    return cfg.sessionCookie + '=.' + m.route + path + ';HttpOnly' + (secure ? ';Secure' : '');
  }

  private rebuildRouteIndex(): void {
    const index = new Map<string, number>();
    // The first member with a route wins, as mod_jk's linear search does.
    for (const m of this.members) if (!index.has(m.route)) index.set(m.route, m.index);
    this.routeIndex = index;
  }

  private updateLbMults(): void {
    const mults = lbMults(this.members.map((m) => m.lbfactor));
    for (const m of this.members) m.lbMult = mults[m.index];
  }

  /** Activation overrides of a rule (active, then disabled, then stopped: the last wins), computed once per rule. */
  private overridesFor(rule: RuleExtensions): Int8Array | null {
    let o = this.overridesByRule.get(rule);
    if (o !== undefined) return o;
    o = null;
    const lists: [readonly string[], ActCode][] = [
      [rule.active, Act.ACTIVE],
      [rule.disabled, Act.DISABLED],
      [rule.stopped, Act.STOPPED],
    ];
    for (const [names, act] of lists) {
      for (const name of names) {
        const m = this.byName.get(name);
        if (m === undefined) continue;
        if (o === null) o = new Int8Array(this.members.length).fill(-1);
        o[m.index] = act;
      }
    }
    this.overridesByRule.set(rule, o);
    return o;
  }
}
