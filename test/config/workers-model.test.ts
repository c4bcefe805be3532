/** Defaults and derived values of the model (docs/directives.md). */
import { describe, expect, it } from 'vitest';
import { errors, lb, member, parse, props, standalone, status, twoMembers, warnings } from './helpers.js';

describe('members', () => {
  it('route defaults to the name; domain is derived from the route before its first dot', () => {
    const text = twoMembers('worker.n2.route=rack1.n2');
    expect(member(text, 'n1').route).toBe('n1');
    expect(member(text, 'n1').domain).toBe('');
    expect(member(text, 'n2').domain).toBe('rack1');
    expect(member(twoMembers('worker.n2.route=rack1.n2', 'worker.n2.domain=d'), 'n2').domain).toBe('d');
  });

  it('port=0 forces Stopped', () => {
    expect(member(twoMembers('worker.n1.port=0', 'worker.n1.activation=A'), 'n1').activation).toBe('STP');
  });

  it('ajp13 members inherit the lb secret unless they have their own; http members have none', () => {
    const text = props(
      'worker.list=lb',
      'worker.lb.type=lb',
      'worker.lb.secret=s3cret',
      'worker.lb.balance_workers=a,b,h',
      'worker.a.type=ajp13',
      'worker.b.type=ajp13',
      'worker.b.secret=own',
      'worker.h.type=http',
    );
    expect(member(text, 'a').secret).toBe('s3cret');
    expect(member(text, 'b').secret).toBe('own');
    expect(member(text, 'h').secret).toBe('');
    expect(warnings(parse(text).issues)).toEqual([]);
  });

  it('a secret set on an http member is ignored with a warning', () => {
    const r = parse(twoMembers('worker.n1.secret=x'));
    expect(warnings(r.issues)).toEqual(['workers.properties:8: worker.n1.secret: secret is an AJP setting; ignored for type=http']);
  });

  it('connection_acquire_timeout defaults to retries × retry_interval', () => {
    expect(member(twoMembers('worker.n1.retries=3', 'worker.n1.retry_interval=250'), 'n1').connectionAcquireTimeoutMs).toBe(750);
    expect(member(twoMembers('worker.n1.connection_acquire_timeout=50'), 'n1').connectionAcquireTimeoutMs).toBe(50);
  });

  it.each([
    [1, 8192], [8192, 8192], [8193, 9216], [20000, 20480], [65536, 65536], [100000, 65536],
  ])('max_packet_size %d → %d', (n, size) => {
    expect(member(twoMembers(`worker.n1.max_packet_size=${n}`), 'n1').maxPacketSize).toBe(size);
  });

  it.each([
    ['', { connectTimeoutMs: 0, prepostTimeoutMs: 0, intervalSec: 0 }],
    ['worker.n1.ping_mode=C', { connectTimeoutMs: 10000, prepostTimeoutMs: 0, intervalSec: 0 }],
    ['worker.n1.ping_mode=pi', { connectTimeoutMs: 0, prepostTimeoutMs: 10000, intervalSec: 100 }],
    ['worker.n1.ping_mode=A\nworker.n1.ping_timeout=2000', { connectTimeoutMs: 2000, prepostTimeoutMs: 2000, intervalSec: 20 }],
    ['worker.n1.ping_mode=A\nworker.n1.connect_timeout=500', { connectTimeoutMs: 500, prepostTimeoutMs: 10000, intervalSec: 100 }],
    ['worker.n1.prepost_timeout=300', { connectTimeoutMs: 0, prepostTimeoutMs: 300, intervalSec: 0 }],
  ])('ping %j', (line, expected) => {
    expect(member(twoMembers(line), 'n1').ping).toMatchObject(expected);
  });

  it('defaults', () => {
    const m = member(props('worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=a', 'worker.a.type=ajp13'), 'a');
    expect(m).toMatchObject({
      type: 'ajp13', host: 'localhost', port: 8009, tls: false, lbfactor: 1, distance: 0, activation: 'ACT', redirect: '',
      socketTimeoutSec: 0, socketConnectTimeoutMs: 0, connectionPoolSize: 64, connectionPoolMinsize: 32,
      connectionPoolTimeoutSec: 0, replyTimeoutMs: 0, retries: 2, retryIntervalMs: 100, recoveryOptions: 0,
      failOnStatus: [], busyLimit: 0, maxPacketSize: 8192, drainIdleSec: 0, drainDeadlineSec: 0,
    });
  });

  it('http members default to port 80, or 443 with tls', () => {
    const text = props('worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=a,b', 'worker.a.type=http', 'worker.b.type=http', 'worker.b.tls=true');
    expect([member(text, 'a').port, member(text, 'b').port, member(text, 'b').tls]).toEqual([80, 443, true]);
  });

  it('socket_connect_timeout defaults to socket_timeout × 1000', () => {
    expect(member(twoMembers('worker.n1.socket_timeout=7'), 'n1').socketConnectTimeoutMs).toBe(7000);
  });

  it('lbfactor and retries below 1 become 1 with a warning', () => {
    const text = twoMembers('worker.n1.lbfactor=0', 'worker.n1.retries=-2');
    expect([member(text, 'n1').lbfactor, member(text, 'n1').retries]).toEqual([1, 1]);
    expect(warnings(parse(text).issues)).toHaveLength(2);
  });

  it('drain settings', () => {
    const m = member(twoMembers('worker.n1.drain_idle_time=300', 'worker.n1.drain_deadline=3600'), 'n1');
    expect([m.drainIdleSec, m.drainDeadlineSec]).toEqual([300, 3600]);
    expect(lb(twoMembers('worker.lb.drain_window=120')).drainWindowSec).toBe(120);
  });

  it('host:port is refused (mod_jk would try to resolve it as a name); IPv6 literals are fine', () => {
    expect(errors(parse(twoMembers('worker.n1.host=app:8080')).issues)).toHaveLength(1);
    expect(member(twoMembers('worker.n1.host=::1'), 'n1').host).toBe('::1');
  });
});

describe('lb', () => {
  it('defaults', () => {
    expect(lb(twoMembers())).toMatchObject({
      stickySession: true, stickySessionForce: false, method: 'Request', lock: 'Optimistic', retries: 2, lbRetries: 2,
      retryIntervalMs: 100, recoverTimeSec: 60, errorEscalationTimeSec: 30, maxReplyTimeouts: 0,
      sessionCookie: 'JSESSIONID', sessionPath: ';jsessionid', setSessionCookie: false, sessionCookiePath: '/',
      secret: '', mounts: [], drainWindowSec: 600,
    });
  });

  it('recover_time below 1 becomes 1 with a warning, as mod_jk clamps it', () => {
    for (const v of ['0', '-5']) {
      const text = twoMembers(`worker.lb.recover_time=${v}`);
      expect(errors(parse(text).issues)).toEqual([]);
      expect(warnings(parse(text).issues)).toEqual([`workers.properties:8: worker.lb.recover_time: ${v} is below 1; using 1 as mod_jk does`]);
      expect(lb(text, 'lb', { lenient: true }).recoverTimeSec).toBe(1);
    }
  });

  it('error_escalation_time defaults to recover_time / 2 (integer division)', () => {
    expect(lb(twoMembers('worker.lb.recover_time=45')).errorEscalationTimeSec).toBe(22);
    expect(lb(twoMembers('worker.lb.recover_time=45', 'worker.lb.error_escalation_time=0')).errorEscalationTimeSec).toBe(0);
  });

  it('members keep balance_workers order and the source line of their definition', () => {
    const l = lb(twoMembers());
    expect(l.members.map((m) => [m.name, m.source_ref.line])).toEqual([['n1', 4], ['n2', 6]]);
    expect(l.source_ref).toEqual({ file: 'workers.properties', line: 2 });
  });

  it('a directive without effect for the type gets a warning', () => {
    expect(warnings(parse(twoMembers('worker.lb.lbfactor=2')).issues)).toEqual([
      'workers.properties:8: worker.lb.lbfactor: has no effect on a worker of type lb',
    ]);
  });

  it('a member present in two balancers exists twice, each with its balancer secret', () => {
    const text = props(
      'worker.list=a,b',
      'worker.a.type=lb', 'worker.a.balance_workers=m', 'worker.a.secret=sa',
      'worker.b.type=lb', 'worker.b.balance_workers=m', 'worker.b.secret=sb',
      'worker.m.type=ajp13',
    );
    expect([member(text, 'm', 'a').secret, member(text, 'm', 'b').secret]).toEqual(['sa', 'sb']);
  });
});

describe('status workers', () => {
  it('defaults', () => {
    expect(status(props('worker.list=s', 'worker.s.type=status'), 's')).toMatchObject({
      css: '', prefix: 'worker', ns: 'jk:', xmlns: 'xmlns:jk="http://tomcat.apache.org"', doctype: '', readOnly: false,
      users: [], userCaseInsensitive: false, goodMask: 0x0f, badMask: 0xff1010,
    });
  });

  it('settings, users accumulate, ns/xmlns "-" switch off, ratings', () => {
    const s = status(
      props(
        'worker.list=s', 'worker.s.type=status', 'worker.s.read_only=yes', 'worker.s.user=alice', 'worker.s.user=bob,carol',
        'worker.s.ns=-', 'worker.s.xmlns=-', 'worker.s.good=a', 'worker.s.bad=s,e', 'worker.s.css=/s.css',
      ),
      's',
    );
    expect(s).toMatchObject({ readOnly: true, users: ['alice', 'bob', 'carol'], ns: '', xmlns: '', goodMask: 0xff, badMask: 0xff0000 | 0x101010, css: '/s.css' });
  });

  it('rating tokens: a.o ≡ active.ok ≡ o.a', () => {
    const mask = (v: string) => status(props('worker.list=s', 'worker.s.type=status', `worker.s.good=${v}`), 's').goodMask;
    expect(mask('a.o')).toBe(1);
    expect(mask('active.ok')).toBe(1);
    expect(mask('o.a')).toBe(1);
    expect(mask('a.o,a.i,a.b,a.r')).toBe(0x0f);
  });
});

describe('worker.list', () => {
  it('absent: a single ajp13 worker named ajp13 on localhost:8009, with a warning', () => {
    const r = parse(props('# nothing but a comment', 'worker.ajp13.port=8010'));
    expect(r.workers.list).toEqual(['ajp13']);
    const w = standalone(props('worker.ajp13.port=8010'), 'ajp13');
    expect([w.type, w.host, w.port]).toEqual(['ajp13', 'localhost', 8010]);
    expect(errors(r.issues)).toEqual([]);
    expect(warnings(r.issues)).toEqual(["workers.properties: worker.list: absent: as in mod_jk a single ajp13 worker named 'ajp13' is created"]);
  });

  it('standalone http workers with mounts', () => {
    const w = standalone(props('worker.list=app', 'worker.app.type=http', 'worker.app.port=8080', 'worker.app.mount=/app/*'), 'app');
    expect([w.type, w.port, w.mounts]).toEqual(['http', 8080, ['/app/*']]);
  });

  it('worker.maintain default 60', () => {
    expect(parse(twoMembers()).workers.maintainSec).toBe(60);
  });
});
