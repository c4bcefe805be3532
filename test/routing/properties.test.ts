/**
 * Property tests over random balancers and request streams (docs/load-balancing.md#eligibility,
 * #member-choice).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Activation, MemberConfig } from '../../src/config/model.js';
import type { Balancer, LbRequest } from '../../src/routing/balancer.js';
import { usable, usableSticky } from '../../src/routing/eligibility.js';
import { Act, State, type AttemptOutcome, type RoutePath, type StateCode } from '../../src/routing/types.js';
import { balancer, decide, memberConfig, outcome, rule, view } from './fixtures.js';

const ACTIVATIONS: Activation[] = ['ACT', 'ACT', 'DIS', 'STP'];
const STATES: StateCode[] = [State.IDLE, State.OK, State.RECOVER, State.FORCE, State.BUSY, State.ERROR, State.PROBE];

interface MemberSpec {
  lbfactor: number;
  distance: number;
  activation: Activation;
  domain: number; // 0 = none, else d1/d2 (explicit or derived through a dotted route)
  dottedRoute: boolean;
  redirect: number; // -1 = none, -2 = a route nobody has, else a member index
  state: StateCode;
}

const memberSpec = fc.record({
  lbfactor: fc.integer({ min: 1, max: 5 }),
  distance: fc.integer({ min: 0, max: 2 }),
  activation: fc.constantFrom(...ACTIVATIONS),
  domain: fc.integer({ min: 0, max: 2 }),
  dottedRoute: fc.boolean(),
  redirect: fc.integer({ min: -2, max: 7 }),
  state: fc.constantFrom(...STATES),
});

function routeOf(i: number, s: MemberSpec): string {
  return s.domain > 0 && s.dottedRoute ? `d${s.domain}.r${i}` : `r${i}`;
}

function configs(specs: MemberSpec[]): MemberConfig[] {
  return specs.map((s, i) => {
    const redirect = s.redirect === -2 ? 'nowhere' : s.redirect >= 0 && s.redirect < specs.length && s.redirect !== i ? routeOf(s.redirect, specs[s.redirect]) : '';
    return memberConfig(`m${i}`, {
      lbfactor: s.lbfactor,
      distance: s.distance,
      activation: s.activation,
      route: routeOf(i, s),
      domain: s.domain > 0 ? `d${s.domain}` : '',
      redirect,
    });
  });
}

const KINDS = ['success', 'connect', 'read', 'reply_timeout', 'protocol', 'busy', 'fail_status', 'fail_status_soft', 'client_error'] as const;
function toOutcome(k: (typeof KINDS)[number]): AttemptOutcome {
  if (k === 'fail_status') return outcome('fail_status', { status: 500 });
  if (k === 'fail_status_soft') return outcome('fail_status', { status: -404 });
  return outcome(k, { bytesSent: 10, bytesReceived: 20 });
}

const op = fc.oneof(
  fc.record({
    t: fc.constant('req' as const),
    cookie: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 7 }), fc.constant(100), fc.constant(101)),
    ruleKind: fc.integer({ min: 0, max: 3 }),
    overrideMember: fc.integer({ min: 0, max: 7 }),
    outcomes: fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 6 }),
  }),
  fc.record({ t: fc.constant('hold' as const), cookie: fc.integer({ min: -1, max: 7 }) }),
  fc.record({ t: fc.constant('release' as const), kind: fc.constantFrom(...KINDS) }),
  fc.record({ t: fc.constant('state' as const), member: fc.integer({ min: 0, max: 7 }), state: fc.constantFrom(...STATES) }),
  fc.record({ t: fc.constant('act' as const), member: fc.integer({ min: 0, max: 7 }), act: fc.constantFrom(Act.ACTIVE, Act.DISABLED, Act.STOPPED) }),
  fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
);

/** The checks of docs/load-balancing.md#eligibility for a member the loop just chose. */
function checkChoice(b: Balancer, r: LbRequest, i: number): void {
  const act = b.effectiveActivation(r, i);
  const state = r.local[i];
  const path: RoutePath = r.path;
  expect(act, `stopped member chosen via ${path}`).not.toBe(Act.STOPPED);
  if (act === Act.DISABLED) {
    expect(['sticky', 'redirect', 'failover', 'forced'], `disabled member chosen via ${path}`).toContain(path);
    if (path === 'forced') expect(b.members.some((m) => m.redirect !== '')).toBe(true); // only a hot standby
  }
  if (path === 'balanced' || path === 'distance' || path === 'domain') {
    expect(usable(state, act), `unusable member (state ${state}) via ${path}`).toBe(true);
  } else {
    expect(usableSticky(state, act), `member unusable even for sticky (state ${state}) via ${path}`).toBe(true);
  }
  if (path === 'sticky') expect(r.stickyId === null || r.stickyId.endsWith(b.members[i].route)).toBe(true);
  if (path === 'forced') expect(r.forced).toBe(true);
}

describe('routing properties', () => {
  it('never chooses a stopped member, disabled ones only for sticky/redirect/failover, always an eligible one', () => {
    fc.assert(
      fc.property(fc.array(memberSpec, { minLength: 2, maxLength: 8 }), fc.array(op, { maxLength: 40 }), fc.boolean(), fc.integer({ min: 0, max: 4 }), (specs, ops, force, methodIx) => {
        const method = (['Request', 'Traffic', 'Busyness', 'Sessions', 'Next'] as const)[methodIx];
        const { b, clock } = balancer(configs(specs), { stickySessionForce: force, method, retryIntervalMs: 10 }, { maintainSec: 60 });
        specs.forEach((s, i) => (b.members[i].state = s.state));
        const n = specs.length;
        const held: { r: LbRequest; member: number }[] = [];
        const cookieFor = (c: number): string[] => {
          if (c === -1) return [];
          if (c === 100) return ['JSESSIONID=x.d1.unknown'];
          if (c === 101) return ['JSESSIONID=x.zz; JSESSIONID=y.r0'];
          return [`JSESSIONID=s.${b.members[c % n].route}`];
        };
        for (const o of ops) {
          switch (o.t) {
            case 'req': {
              const name = `m${o.overrideMember % n}`;
              const ext = [null, rule({ stateless: true }), rule({ disabled: [name] }), rule({ stopped: [name], active: [`m${(o.overrideMember + 1) % n}`] })][o.ruleKind];
              const r = b.begin(view({ cookies: cookieFor(o.cookie), rule: ext }));
              let k = 0;
              let steps = 0;
              for (let s = b.next(r); s.kind !== 'done'; s = b.next(r)) {
                expect(++steps).toBeLessThan(200);
                if (s.kind === 'wait') {
                  clock.advance(s.ms);
                  continue;
                }
                checkChoice(b, r, s.member);
                if (b.startAttempt(r, s.member) === null) continue;
                b.endAttempt(r, s.member, toOutcome(o.outcomes[k++ % o.outcomes.length]));
              }
              break;
            }
            case 'hold': {
              const r = b.begin(view({ cookies: cookieFor(o.cookie) }));
              const s = b.next(r);
              if (s.kind !== 'attempt') break;
              checkChoice(b, r, s.member);
              if (b.startAttempt(r, s.member) !== null) held.push({ r, member: s.member });
              break;
            }
            case 'release': {
              const h = held.shift();
              if (h) b.endAttempt(h.r, h.member, toOutcome(o.kind));
              break;
            }
            case 'state':
              b.members[o.member % n].state = o.state;
              break;
            case 'act':
              b.setActivation(o.member % n, o.act);
              break;
            case 'tick':
              clock.advance(o.ms);
              break;
          }
        }
        for (const h of held) b.endAttempt(h.r, h.member, toOutcome('success'));
        expect(b.lb.busy).toBe(0);
        expect(b.members.every((m) => m.busy === 0 && m.lbValue >= 0)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('Request method: session-less traffic splits exactly by lbfactor over whole LCM periods (nearest distance group only)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ lbfactor: fc.integer({ min: 1, max: 6 }), distance: fc.integer({ min: 0, max: 1 }) }), { minLength: 2, maxLength: 8 }),
        fc.integer({ min: 1, max: 3 }),
        (specs, periods) => {
          const { b } = balancer(specs.map((s, i) => memberConfig(`m${i}`, s)), {}, { maintainSec: 0 });
          const near = Math.min(...specs.map((s) => s.distance));
          const period = specs.reduce((sum, s) => sum + (s.distance === near ? s.lbfactor : 0), 0);
          const count = new Array<number>(specs.length).fill(0);
          for (let i = 0; i < periods * period; i++) count[b.memberByName(decide(b)!.member)!.index]++;
          expect(count).toEqual(specs.map((s) => (s.distance === near ? periods * s.lbfactor : 0)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
