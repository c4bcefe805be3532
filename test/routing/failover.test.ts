/**
 * Failover paths (docs/load-balancing.md#member-choice): domains, redirects, hot standby, distance
 * groups, sticky_session_force, rule activations.
 */
import { describe, expect, it } from 'vitest';
import { Act, State } from '../../src/routing/types.js';
import { balancer, decide, drive, memberConfig, OK, outcome, plain, rule, view } from './fixtures.js';

const cookie = (id: string) => view({ cookies: [`JSESSIONID=${id}`] });

describe('domain failover', () => {
  const farm = () => [
    memberConfig('a1', { route: 'dc1.a1', distance: 1 }),
    memberConfig('a2', { route: 'dc1.a2' }),
    memberConfig('a3', { route: 'dc1.a3' }),
    memberConfig('b1', { route: 'dc2.b1' }),
  ];

  it('sends an unusable member’s sessions to the best usable member of its own domain', () => {
    const { b } = balancer(farm(), { setSessionCookie: true });
    b.members[0].state = State.ERROR;
    b.members[1].lbValue = 5;
    b.members[2].lbValue = 3;
    const d = decide(b, cookie('s.dc1.a1'))!;
    expect([d.member, d.path, d.sticky, d.route]).toEqual(['a3', 'domain', false, 'dc1']);
    expect(d.info.setCookie).toBe('JSESSIONID=.dc1.a3;PATH=/;HttpOnly');
  });

  it('prefers the lower distance inside the domain, then the lower index on ties', () => {
    const { b } = balancer(farm());
    b.members[1].state = State.ERROR;
    b.setMember(0, 'distance', 0);
    expect(decide(b, cookie('s.dc1.zz'))!.member).toBe('a1');
    b.setMember(0, 'distance', 1);
    expect(decide(b, cookie('s.dc1.zz'))!.member).toBe('a3');
  });

  it('never picks a disabled member by domain', () => {
    const { b } = balancer([memberConfig('x', { route: 'd.x' }), memberConfig('y', { route: 'd.y', activation: 'DIS' }), memberConfig('z')]);
    b.members[0].state = State.ERROR;
    const d = decide(b, cookie('s.d.x'))!;
    expect([d.member, d.path]).toEqual(['z', 'balanced']);
  });
});

describe('redirect', () => {
  const standby = () => [
    memberConfig('A', { route: 'rA', redirect: 'rB' }),
    memberConfig('B', { route: 'rB', activation: 'DIS', redirect: 'rC' }),
    memberConfig('C', { route: 'rC' }),
  ];

  it('sends sticky requests of an unusable member to its redirect target, even a disabled one (hot standby)', () => {
    const { b } = balancer(standby());
    b.members[0].state = State.ERROR;
    const d = decide(b, cookie('s.rA'))!;
    expect([d.member, d.path, d.sticky, d.route, d.info.activation]).toEqual(['B', 'redirect', false, 'rB', 'DIS']);
  });

  it('follows one hop only: an unusable target gives the piece up (then balanced)', () => {
    const { b } = balancer(standby());
    b.members[0].state = State.ERROR;
    b.members[1].state = State.ERROR;
    const d = decide(b, cookie('s.rA'))!;
    expect([d.member, d.path]).toEqual(['C', 'balanced']);
  });

  it('hot standby takes new requests only when no active member is usable', () => {
    const { b } = balancer([memberConfig('A', { route: 'rA', redirect: 'rB' }), memberConfig('B', { route: 'rB', activation: 'DIS' })]);
    expect(decide(b)!.member).toBe('A');
    b.members[0].state = State.ERROR;
    const d = decide(b)!;
    expect([d.member, d.path, d.sticky, d.info.activation]).toEqual(['B', 'failover', false, 'DIS']);
  });
});

describe('distance groups', () => {
  const groups = () => [
    memberConfig('near1', { distance: 0 }),
    memberConfig('near2', { distance: 0 }),
    memberConfig('far1', { distance: 1 }),
    memberConfig('far2', { distance: 1 }),
  ];

  it('keeps new requests in the nearest group while it has a usable member', () => {
    const { b } = balancer(groups(), {}, { maintainSec: 0 });
    const names = Array.from({ length: 6 }, () => decide(b)!.member);
    expect(names).toEqual(['near1', 'near2', 'near1', 'near2', 'near1', 'near2']);
  });

  it('spills to the next group when the nearer one is all down, reporting path "distance"', () => {
    const { b } = balancer(groups(), {}, { maintainSec: 0 });
    b.members[0].state = State.ERROR;
    b.setActivation(1, Act.STOPPED);
    const d = decide(b)!;
    expect([d.member, d.path]).toEqual(['far1', 'distance']);
    expect(decide(b)!.member).toBe('far2');
  });

  it('sticky routing ignores distance', () => {
    const { b } = balancer(groups(), {}, { maintainSec: 0 });
    const d = decide(b, cookie('x.far2'))!;
    expect([d.member, d.path]).toEqual(['far2', 'sticky']);
  });
});

describe('session id pieces (docs/load-balancing.md#several-ids)', () => {
  it('skips pieces without a route, however many, and takes the first piece that resolves', () => {
    const { b } = balancer([memberConfig('n1'), memberConfig('n2'), memberConfig('n3')]);
    const dotless = Array.from({ length: 500 }, (_, i) => `JSESSIONID=id${i}`).join('; ');
    const d = decide(b, view({ cookies: [`${dotless}; JSESSIONID=x.zz; JSESSIONID=y.n2; JSESSIONID=z.n3`] }))!;
    expect([d.member, d.path, d.request.stickyId]).toEqual(['n2', 'sticky', 'y.n2']);
  });

  it('with only routeless pieces, sticky_session_force refuses', () => {
    const { b, clock } = balancer(plain(3), { stickySessionForce: true });
    const { trace } = drive(b, view({ cookies: ['JSESSIONID=a; JSESSIONID=b', 'JSESSIONID=c'] }), () => OK, clock);
    expect(trace).toEqual(['wait 100', 'done 503 sticky_session_force']);
  });
});

describe('sticky_session_force', () => {
  it('gives 503 instead of failing over when the session’s member is unusable', () => {
    const { b, clock } = balancer(
      [memberConfig('n1', { redirect: 'n2' }), memberConfig('n2')],
      { stickySessionForce: true },
    );
    b.setActivation(0, Act.STOPPED);
    const { trace } = drive(b, cookie('s.n1'), () => OK, clock);
    expect(trace).toEqual(['wait 100', 'done 503 sticky_session_force']);
  });

  it('still balances requests without a session id', () => {
    const { b } = balancer([memberConfig('n1'), memberConfig('n2')], { stickySessionForce: true });
    expect(decide(b)!.member).toBe('n1');
  });
});

describe('per-request activation from rule extensions (docs/uri-mapping.md#rule-extensions)', () => {
  it('a rule-disabled member takes sticky but not new requests', () => {
    const { b } = balancer([memberConfig('n1'), memberConfig('n2')]);
    const r = rule({ disabled: ['n1'] });
    expect(decide(b, view({ rule: r }))!.member).toBe('n2');
    expect(decide(b, view({ rule: r }))!.member).toBe('n2');
    const d = decide(b, view({ rule: r, cookies: ['JSESSIONID=x.n1'] }))!;
    expect([d.member, d.info.activation]).toEqual(['n1', 'DIS']);
    expect(decide(b)!.member).toBe('n1'); // other rules see the configured activation
  });

  it('a rule-stopped member is skipped even for its sessions; rule-active enables a disabled one', () => {
    const { b } = balancer([memberConfig('n1'), memberConfig('n2', { activation: 'DIS' })]);
    const r = rule({ stopped: ['n1'], active: ['n2'] });
    const d = decide(b, view({ rule: r, cookies: ['JSESSIONID=x.n1'] }))!;
    expect([d.member, d.path, d.info.activation]).toEqual(['n2', 'balanced', 'ACT']);
  });

  it('applies active, then disabled, then stopped: the last list wins; unknown names are ignored', () => {
    const { b } = balancer([memberConfig('n1'), memberConfig('n2')]);
    const r = rule({ active: ['n1', 'ghost'], stopped: ['n1'], disabled: ['n1'] });
    const req = b.begin(view({ rule: r }));
    expect(b.effectiveActivation(req, 0)).toBe(Act.STOPPED);
    expect(b.effectiveActivation(req, 1)).toBe(Act.ACTIVE);
  });
});

describe('forwarded route and stickiness cookie per attempt (docs/load-balancing.md#stickiness-cookie, #forwarded-activation-and-route)', () => {
  it('names the member actually attempted, also after a failover', () => {
    const { b } = balancer([memberConfig('n1', { route: 'dc1.a' }), memberConfig('n2', { route: 'dc1.b' })], { setSessionCookie: true });
    const seen: [string, string, string | null][] = [];
    const r = b.begin(view({ cookies: ['JSESSIONID=s.dc1.zz'] }));
    for (let s = b.next(r); s.kind !== 'done'; s = b.next(r)) {
      if (s.kind !== 'attempt') continue;
      const info = b.startAttempt(r, s.member)!;
      seen.push([b.members[s.member].name, info.route, info.setCookie]);
      b.endAttempt(r, s.member, s.member === 0 ? outcome('connect') : OK);
    }
    // Domain matches both times (route = the domain); n1 is down for this request after its failure.
    expect(seen).toEqual([
      ['n1', 'dc1', 'JSESSIONID=.dc1.a;PATH=/;HttpOnly'],
      ['n2', 'dc1', 'JSESSIONID=.dc1.b;PATH=/;HttpOnly'],
    ]);
    // Without a session the route is the attempted member's, updated on failover (mod_jk keeps the first).
    b.reset();
    b.lb.nextOffset = 0;
    const routes: string[] = [];
    drive(b, view(), (m, req) => {
      routes.push(req.route);
      return m === 'n1' ? outcome('connect') : OK;
    });
    expect(routes).toEqual(['dc1.a', 'dc1.b']);
  });

  it('a rule can switch the cookie on; an exact sticky match never sends it', () => {
    const { b } = balancer([memberConfig('n1'), memberConfig('n2')]);
    const on = rule({ setSessionCookie: true });
    expect(decide(b, view({ rule: on }))!.info.setCookie).toBe('JSESSIONID=.n1;PATH=/;HttpOnly');
    expect(decide(b, view({ rule: on, cookies: ['JSESSIONID=s.n2'] }))!.info.setCookie).toBeNull();
    expect(decide(b)!.info.setCookie).toBeNull();
  });
});
