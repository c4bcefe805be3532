/**
 * Member selection (docs/load-balancing.md#member-choice): session routes, domains, redirects,
 * balanced choice and the hot-standby failover. Reads the request-local states and effective
 * activations; writes only the request's sticky/path/route/stickyId and the lb's rotation offset.
 */
import type { LbRequest } from './request.js';
import type { MemberRuntime } from './member.js';
import { Act, type ActCode } from './types.js';
import { usable, usableSticky } from './eligibility.js';

/** What selection needs from the Balancer. */
export interface SelectionContext {
  readonly members: readonly MemberRuntime[];
  readonly lb: { stickySessionForce: boolean; nextOffset: number };
  /** First member whose route equals `route` exactly, or -1. */
  indexOfRoute(route: string): number;
  effectiveActivation(r: LbRequest, i: number): ActCode;
}

/** selectMember found no usable member. */
export const NO_MEMBER = -1;
/** selectMember refused to balance a request whose session routes cannot be served (sticky_session_force). */
export const FORCE_REFUSED = -2;

/**
 * Chooses the member for the next attempt (docs/load-balancing.md#member-choice): an index,
 * NO_MEMBER or FORCE_REFUSED.
 */
export function selectMember(ctx: SelectionContext, r: LbRequest): number {
  r.sticky = false;
  r.stickyId = null;
  r.route = '';
  const members = ctx.members;
  if (members.length === 1) {
    // Single-member shortcut: no session logic; a disabled single member falls through.
    const a = ctx.effectiveActivation(r, 0);
    if (!usableSticky(r.local[0], a)) return NO_MEMBER;
    if (a !== Act.DISABLED) {
      r.sticky = true;
      r.path = 'single';
      return 0;
    }
  }
  const sid = r.sessionId;
  if (sid !== null) {
    // Pieces in order; a piece's route is everything after its first '.'. The next '.' is searched
    // again only once the pieces have passed it, so many dotless pieces cost one scan, not one each.
    let start = 0;
    let dot = -1;
    while (start <= sid.length) {
      if (dot < start) {
        dot = sid.indexOf('.', start);
        if (dot < 0) break; // no later piece has a route
      }
      let end = sid.indexOf(';', start);
      if (end < 0) end = sid.length;
      if (dot < end) {
        const c = findBySessionRoute(ctx, r, sid.substring(dot + 1, end));
        if (c >= 0) {
          if (r.sticky) r.stickyId = start === 0 && end === sid.length ? sid : sid.substring(start, end);
          return c;
        }
      }
      start = end + 1;
    }
    if (ctx.lb.stickySessionForce) return FORCE_REFUSED;
  }
  const c = findBestByValue(ctx, r);
  return c >= 0 ? c : findFailoverMember(ctx, r);
}

/** Best usable member of a domain: lowest distance, then lowest lb_value, ties to the lowest index. */
function findBestByDomain(ctx: SelectionContext, r: LbRequest, routeOrDomain: string): number {
  const dot = routeOrDomain.indexOf('.');
  const domLen = dot < 0 ? routeOrDomain.length : dot;
  const members = ctx.members;
  let cand = -1;
  let d = 0;
  let cur = 0;
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    const dom = m.domain;
    if (dom.length === 0 || dom.length !== domLen || !routeOrDomain.startsWith(dom)) continue;
    if (!usable(r.local[i], ctx.effectiveActivation(r, i))) continue;
    if (cand < 0 || m.distance < d || (m.lbValue < cur && m.distance === d)) {
      cand = i;
      cur = m.lbValue;
      d = m.distance;
    }
  }
  return cand;
}

/** Resolves one session route: exact route, else domain; an unusable match fails over by redirect or own domain. */
function findBySessionRoute(ctx: SelectionContext, r: LbRequest, route: string): number {
  const members = ctx.members;
  let c = ctx.indexOfRoute(route);
  let usedDomain = false;
  if (c < 0) {
    usedDomain = true;
    c = findBestByDomain(ctx, r, route);
    if (c < 0) return -1;
    r.route = members[c].domain;
    r.path = 'domain';
  } else {
    r.sticky = true;
    r.path = 'sticky';
  }
  if (usableSticky(r.local[c], ctx.effectiveActivation(r, c))) return c;
  r.sticky = false;
  if (ctx.lb.stickySessionForce) return -1;
  const m = members[c];
  let c2 = -1;
  if (m.redirect !== '') {
    // By route, one hop, no domain fallback; the target may be disabled (hot standby).
    c2 = ctx.indexOfRoute(m.redirect);
    r.route = '';
    r.path = 'redirect';
  } else if (m.domain !== '' && !usedDomain) {
    c2 = findBestByDomain(ctx, r, m.domain);
    r.route = c2 >= 0 ? m.domain : '';
    r.path = 'domain';
  }
  if (c2 >= 0 && !usableSticky(r.local[c2], ctx.effectiveActivation(r, c2))) c2 = -1;
  return c2;
}

/**
 * Balanced choice (docs/load-balancing.md#balanced-choice): lowest distance, then lowest lb_value,
 * ties by rotation from next_offset. Stateless requests ignore lb_value (pure round-robin within
 * the lowest distance).
 */
function findBestByValue(ctx: SelectionContext, r: LbRequest): number {
  const members = ctx.members;
  const n = members.length;
  const lb = ctx.lb;
  const offset = lb.nextOffset;
  let cand = -1;
  let d = 0;
  let cur = 0;
  let minDistance = Infinity;
  for (let j = offset; j < offset + n; j++) {
    const i = j % n;
    const m = members[i];
    if (m.distance < minDistance) minDistance = m.distance;
    if (!usable(r.local[i], ctx.effectiveActivation(r, i))) continue;
    if (cand < 0 || m.distance < d || (!r.stateless && m.lbValue < cur && m.distance === d)) {
      cand = i;
      cur = m.lbValue;
      d = m.distance;
      lb.nextOffset = i + 1;
    }
  }
  if (cand >= 0) r.path = minDistance < d ? 'distance' : 'balanced';
  return cand;
}

/**
 * Hot standby (docs/load-balancing.md#redirects-and-hot-standby): the redirect of the first member
 * that has one, resolved like a session route.
 */
function findFailoverMember(ctx: SelectionContext, r: LbRequest): number {
  const members = ctx.members;
  for (let i = 0; i < members.length; i++) {
    const redirect = members[i].redirect;
    if (redirect === '') continue;
    const c = findBySessionRoute(ctx, r, redirect);
    r.sticky = false;
    if (c >= 0) r.path = 'failover';
    return c;
  }
  return -1;
}
