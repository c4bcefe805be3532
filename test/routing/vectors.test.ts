/**
 * Every test vector of docs/load-balancing.md#test-vectors, from a fresh balancer each (all members
 * OK/IDLE, lb_value 0, next_offset 0).
 */
import { describe, expect, it } from 'vitest';
import type { LbConfig, MemberConfig, RuleExtensions } from '../../src/config/model.js';
import { State, type RoutePath } from '../../src/routing/types.js';
import type { Balancer } from '../../src/routing/balancer.js';
import { balancer, memberConfig, rule, view } from './fixtures.js';

function base(): MemberConfig[] {
  return [
    memberConfig('n1', { host: '10.0.0.1' }),
    memberConfig('n2', { host: '10.0.0.2', route: 'jvmB' }),
    memberConfig('n3', { host: '10.0.0.3', route: 'dc2.t3' }),
    memberConfig('n4', { host: '10.0.0.4', domain: 'dc2' }),
    memberConfig('n5', { host: '10.0.0.5', activation: 'DIS' }),
  ];
}
function members(edit?: (ms: MemberConfig[]) => MemberConfig[]): MemberConfig[] {
  return edit ? edit(base()) : base();
}
const withMember = (name: string, o: Partial<MemberConfig>) => (ms: MemberConfig[]) =>
  ms.map((m) => (m.name === name ? { ...m, ...o } : m));

interface Vector {
  row: string;
  path?: string;
  cookies?: string[];
  secure?: boolean;
  lb?: Partial<LbConfig>;
  members?: (ms: MemberConfig[]) => MemberConfig[];
  setup?: (b: Balancer) => void;
  rule?: RuleExtensions;
  /** Extracted id string (null = none). */
  id: string | null;
  /** Member chosen first, or null for "no member → 503". */
  want: string | null;
  how?: RoutePath;
  sticky?: boolean;
  setCookie?: string | null;
  newSession?: boolean;
}

const cookieOn = { setSessionCookie: true };
const errorOn = (name: string) => (b: Balancer) => {
  b.memberByName(name)!.state = State.ERROR;
};

const vectors: Vector[] = [
  { row: '1', cookies: ['JSESSIONID=ABC.n1'], lb: cookieOn, id: 'ABC.n1', want: 'n1', how: 'sticky', sticky: true, setCookie: null },
  { row: '2', path: '/app/a;jsessionid=XYZ.jvmB', cookies: ['JSESSIONID=ABC.n1'], id: 'XYZ.jvmB', want: 'n2', how: 'sticky' },
  { row: '3', cookies: ['JSESSIONID=ABC.n2'], id: 'ABC.n2', want: 'n1', how: 'balanced', sticky: false },
  { row: '4', cookies: ['JSESSIONID=ABC.dc2.t3'], id: 'ABC.dc2.t3', want: 'n3', how: 'sticky' },
  {
    row: '5', cookies: ['JSESSIONID=ABC.dc2.t9'], lb: cookieOn, id: 'ABC.dc2.t9', want: 'n3', how: 'domain',
    sticky: false, setCookie: 'JSESSIONID=.dc2.t3;PATH=/;HttpOnly',
  },
  { row: '6', cookies: ['JSESSIONID=ABC.dc2.t3'], setup: errorOn('n3'), id: 'ABC.dc2.t3', want: 'n4', how: 'domain', sticky: false },
  { row: '7', cookies: ['JSESSIONID=ABC.n5'], id: 'ABC.n5', want: 'n5', how: 'sticky', sticky: true },
  { row: '8', setup: errorOn('n1'), id: null, want: 'n2', how: 'balanced', newSession: true },
  { row: '9', cookies: ['JSESSIONID=OLD.n9; JSESSIONID=NEW.jvmB'], id: 'OLD.n9;NEW.jvmB', want: 'n2', how: 'sticky' },
  { row: '10', cookies: ['a=1', 'JSESSIONID=Q.n4'], id: 'Q.n4', want: 'n4', how: 'sticky' },
  { row: '11', cookies: ['JSESSIONID="Q.n4"'], id: 'Q.n4', want: 'n4', how: 'sticky' },
  { row: '12', cookies: ['JSESSIONID=ABCDEF'], id: 'ABCDEF', want: 'n1', how: 'balanced', newSession: false },
  { row: '12 force', cookies: ['JSESSIONID=ABCDEF'], lb: { stickySessionForce: true }, id: 'ABCDEF', want: null },
  { row: '13', cookies: ['jsessionid=ABC.n1'], id: null, want: 'n1', how: 'balanced' },
  { row: '14', path: '/app/a;JSESSIONID=ABC.jvmB', id: null, want: 'n1', how: 'balanced' },
  { row: '15', cookies: ['MYJSESSIONID=A.n1; JSESSIONID=B.jvmB'], id: 'B.jvmB', want: 'n2', how: 'sticky' },
  { row: '16', cookies: ['JSESSIONID=A.jvmB ; x=1'], id: 'A.jvmB ', want: 'n1', how: 'balanced' },
  { row: '17', path: '/app;jsessionid=;x=1', cookies: ['JSESSIONID=A.jvmB'], id: null, want: 'n1', how: 'balanced', newSession: true },
  { row: '18', path: '/app;jsessionid=A.zz/b', cookies: ['JSESSIONID=B.jvmB'], id: 'A.zz', want: 'n1', how: 'balanced' },
  {
    row: '19', cookies: ['JSESSIONID=A.n1,JSESSIONID=B.jvmB'], members: withMember('n1', { activation: 'STP' }),
    id: 'A.n1;B.jvmB', want: 'n2', how: 'sticky',
  },
  {
    row: '20', cookies: ['JSESSIONID=A.n1'], members: withMember('n1', { redirect: 'jvmB' }), setup: errorOn('n1'), lb: cookieOn,
    id: 'A.n1', want: 'n2', how: 'redirect', sticky: false, setCookie: 'JSESSIONID=.jvmB;PATH=/;HttpOnly',
  },
  {
    // No member → forced recovery (n1 ERROR → FORCE) → n1 retried, by its exact route.
    row: '21', cookies: ['JSESSIONID=A.n1'], members: withMember('n1', { redirect: 'jvmB' }), setup: errorOn('n1'),
    lb: { stickySessionForce: true }, id: 'A.n1', want: 'n1', how: 'sticky', sticky: true,
  },
  {
    row: '21 stopped', cookies: ['JSESSIONID=A.n1'], members: withMember('n1', { redirect: 'jvmB', activation: 'STP' }),
    lb: { stickySessionForce: true }, id: 'A.n1', want: null,
  },
  { row: '22', cookies: ['JSESSIONID=A.jvmB'], lb: { stickySession: false }, id: null, want: 'n1', how: 'balanced' },
  { row: '23', path: '/app/a;jsessionid=A.jvmB', rule: rule({ stickyIgnore: true }), id: null, want: 'n1', how: 'balanced' },
  { row: '24', cookies: ['JSESSIONID=A.n1; SID=B.jvmB'], rule: rule({ sessionCookie: 'SID' }), id: 'B.jvmB', want: 'n2', how: 'sticky' },
  {
    row: '25', cookies: ['JSESSIONID=ABC.n1.extra'], lb: cookieOn, id: 'ABC.n1.extra', want: 'n1', how: 'balanced',
    sticky: false, setCookie: 'JSESSIONID=.n1;PATH=/;HttpOnly',
  },
  { row: '26', cookies: ['JSESSIONID=A.n3'], id: 'A.n3', want: 'n1', how: 'balanced' },
  {
    row: '27', cookies: ['JSESSIONID=X.zz'], members: (ms) => ms.slice(0, 1), lb: { stickySessionForce: true },
    id: 'X.zz', want: 'n1', how: 'single', sticky: true, newSession: false,
  },
  {
    row: '28', secure: true, lb: cookieOn, id: null, want: 'n1', how: 'balanced', sticky: false,
    setCookie: 'JSESSIONID=.n1;PATH=/;HttpOnly;Secure',
  },
];

describe('test vectors (docs/load-balancing.md#test-vectors)', () => {
  it.each(vectors)('row $row', (vec) => {
    const { b } = balancer(members(vec.members), vec.lb ?? {});
    vec.setup?.(b);
    const r = b.begin(view({ path: vec.path ?? '/app/a', cookies: vec.cookies ?? [], secure: vec.secure ?? false, rule: vec.rule ?? null }));
    expect(r.sessionId).toBe(vec.id);
    let s = b.next(r);
    if (vec.want === null) {
      // No member: the loop runs its rounds (with the retry wait) and ends in 503.
      while (s.kind !== 'done') {
        expect(s.kind).toBe('wait');
        s = b.next(r);
      }
      expect(s).toEqual({ kind: 'done', status: 503, reason: 'sticky_session_force' });
      return;
    }
    expect(s.kind).toBe('attempt');
    if (s.kind !== 'attempt') return;
    expect(b.members[s.member].name).toBe(vec.want);
    expect(r.path).toBe(vec.how);
    if (vec.sticky !== undefined) expect(r.sticky).toBe(vec.sticky);
    const sessionsBefore = b.members[s.member].sessions;
    const info = b.startAttempt(r, s.member)!;
    if (vec.setCookie !== undefined) expect(info.setCookie).toBe(vec.setCookie);
    if (vec.newSession !== undefined) expect(b.members[s.member].sessions - sessionsBefore).toBe(vec.newSession ? 1 : 0);
  });

  it('has all 28 rows', () => {
    expect(new Set(vectors.map((v) => v.row.split(' ')[0])).size).toBe(28);
  });
});
