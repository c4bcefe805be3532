/** One test per class of configuration error, each naming file, line and directive (issue 2). */
import { describe, expect, it } from 'vitest';
import { errors, member, parse, props, twoMembers, warnings } from './helpers.js';

describe('errors name file:line: directive', () => {
  it('unknown directive (case-sensitive suffix test)', () => {
    const r = parse(twoMembers('worker.n1.Port=8009', 'worker.n1.lbfactr=2'));
    expect(errors(r.issues)).toEqual([
      "workers.properties:8: worker.n1.Port: unknown directive 'Port' (directive names are case-sensitive: 'port')",
      "workers.properties:9: worker.n1.lbfactr: unknown directive 'lbfactr'",
    ]);
  });

  it('a suffix match is enough (worker.a.b.port passes the suffix test) but a dotted name is reported', () => {
    const r = parse(twoMembers('worker.a.b.port=1'));
    expect(errors(r.issues)).toEqual([
      "workers.properties:8: worker.a.b.port: worker name 'a.b' contains '.', which makes keys ambiguous",
    ]);
  });

  it.each([
    ['worker.n1.lbfactor=abc', "worker.n1.lbfactor: 'abc' is not an integer"],
    ['worker.n1.lbfactor=2x', "worker.n1.lbfactor: '2x' is not an integer"],
    ['worker.n1.activation=x', "worker.n1.activation: unknown activation 'x' (expected active, disabled, stopped, act, dis, stp)"],
    ['worker.n1.reply_timeout=-5', 'worker.n1.reply_timeout: -5 is below the minimum 0'],
    ['worker.n1.socket_connect_timeout=soon', "worker.n1.socket_connect_timeout: 'soon' is not an integer"],
    ['worker.lb.method=Z', "worker.lb.method: unknown method 'Z' (expected request, traffic, busyness, sessions, next)"],
    ['worker.n1.port=70000', 'worker.n1.port: 70000 is above the maximum 65535'],
    ['worker.n1.ping_mode=CX', "worker.n1.ping_mode: unknown ping_mode letter(s) 'X' (expected C, P, I or A)"],
    ['worker.n1.fail_on_status=50x', "worker.n1.fail_on_status: '50x' is not an HTTP status code (100–599, negative to fail over only)"],
  ])('bad value: %s', (line, message) => {
    expect(errors(parse(twoMembers(line)).issues)).toEqual([`workers.properties:8: ${message}`]);
  });

  it('unknown worker type (case-sensitive), also in lenient mode', () => {
    const text = twoMembers('worker.n2.type=HTTP');
    const expected = "workers.properties:8: worker.n2.type: unknown worker type 'HTTP' (supported: lb, status, ajp13, http; case-sensitive)";
    expect(errors(parse(text).issues)).toEqual([expected]);
    expect(errors(parse(text, { lenient: true }).issues)).toEqual([expected]);
  });

  it('balance_workers member never defined', () => {
    const r = parse(props('worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=n1', 'worker.lb.balance_workers=nX', 'worker.n1.port=1'));
    expect(errors(r.issues)).toEqual([
      "workers.properties:4: worker.lb.balance_workers: member 'nX' is not defined (no worker.nX.* properties)",
    ]);
  });

  it('duplicate routes, also in lenient mode', () => {
    const text = twoMembers('worker.n1.route=same', 'worker.n2.route=same');
    const expected = "workers.properties:9: worker.n2.route: route 'same' of member 'n2' is already used by member 'n1' in lb 'lb'";
    expect(errors(parse(text).issues)).toEqual([expected]);
    expect(errors(parse(text, { lenient: true }).issues)).toEqual([expected]);
  });

  it('a member listed twice has a duplicate route (at the balance_workers line)', () => {
    const r = parse(props('worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=n1,n1', 'worker.n1.port=1'));
    expect(errors(r.issues)).toEqual([
      "workers.properties:3: worker.lb.balance_workers: route 'n1' of member 'n1' is already used by member 'n1' in lb 'lb'",
    ]);
  });

  it('redirect naming no member route', () => {
    const r = parse(twoMembers('worker.n1.redirect=n3'));
    expect(errors(r.issues)).toEqual(["workers.properties:8: worker.n1.redirect: redirect 'n3' is not the route of any member of lb 'lb'"]);
  });

  it('redirect names a route, not a member name', () => {
    expect(errors(parse(twoMembers('worker.n2.route=r2', 'worker.n1.redirect=r2')).issues)).toEqual([]);
  });

  it('reference cycle, also in lenient mode', () => {
    const text = props('worker.list=a', 'worker.a.reference=worker.b', 'worker.b.reference=worker.a', 'worker.b.type=http');
    const expected = 'workers.properties:2: worker.a.reference: reference cycle: worker.a → worker.b → worker.a';
    expect(errors(parse(text).issues)).toEqual([expected]);
    expect(errors(parse(text, { lenient: true }).issues)).toEqual([expected]);
  });

  it('reference not found, and a reference without the worker. prefix', () => {
    const r = parse(props('worker.list=a,b', 'worker.a.reference=worker.nope', 'worker.b.reference=tpl', 'tpl.port=1'));
    expect(errors(r.issues)).toEqual([
      "workers.properties:2: worker.a.reference: reference not found: no property starts with 'worker.nope.'",
      "workers.properties:3: worker.b.reference: reference must be a key prefix such as 'worker.template', got 'tpl'",
    ]);
  });

  it('lb with no members, also in lenient mode', () => {
    const text = props('worker.list=lb', 'worker.lb.type=lb');
    const expected = "workers.properties:2: worker.lb.balance_workers: lb worker 'lb' has no members";
    expect(errors(parse(text).issues)).toEqual([expected]);
    expect(errors(parse(text, { lenient: true }).issues)).toEqual([expected]);
  });

  it('worker.list naming an undefined worker', () => {
    const r = parse(props('worker.list=a', 'worker.list=ghost', 'worker.a.type=http'));
    expect(errors(r.issues)).toEqual(["workers.properties:2: worker.list: worker 'ghost' is not defined (no worker.ghost.* properties)"]);
  });

  it('worker names with a dot or longer than 63 bytes', () => {
    const long = 'w'.repeat(64);
    const r = parse(props(`worker.list=${long}`, 'worker.lb.type=lb', `worker.${long}.type=http`));
    expect(errors(r.issues)).toEqual([`workers.properties:1: worker.list: worker name '${long}' is longer than 63 bytes`]);
    const r2 = parse(props('worker.list=a.b', 'worker.a.b.type=http'));
    expect(errors(r2.issues)).toContain("workers.properties:1: worker.list: worker name 'a.b' contains '.', which makes keys ambiguous");
  });

  it('values mod_jk keeps in 64-byte slots (route, host, …) may not exceed 63 bytes', () => {
    const r = parse(twoMembers(`worker.n1.route=${'r'.repeat(64)}`));
    expect(errors(r.issues)).toEqual(['workers.properties:8: worker.n1.route: value longer than 63 bytes']);
  });

  it('tls on an ajp13 worker', () => {
    const r = parse(props('worker.list=a', 'worker.a.type=ajp13', 'worker.a.tls=true'));
    expect(errors(r.issues)).toEqual(['workers.properties:3: worker.a.tls: tls applies to type=http members only']);
  });

  it('a member of type lb or status', () => {
    const r = parse(props('worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=st', 'worker.st.type=status'));
    expect(errors(r.issues)).toEqual(["workers.properties:3: worker.lb.balance_workers: member 'st' is of type status; members must be ajp13 or http"]);
  });

  it('reports every error at once', () => {
    const r = parse(
      props(
        'worker.list=lb,ghost',
        'worker.lb.type=lb',
        'worker.lb.balance_workers=n1,n2,n3',
        'worker.n1.lbfactor=x',
        'worker.n1.route=r',
        'worker.n2.route=r',
        'worker.n2.bogus=1',
      ),
    );
    expect(errors(r.issues).map((e) => e.split(':')[1])).toEqual(['1', '3', '4', '6', '7']);
  });
});

describe('lenient mode does what mod_jk does, with warnings', () => {
  it('undefined members and list entries become ajp13 localhost:8009', () => {
    const text = props('worker.list=lb,ghost', 'worker.lb.type=lb', 'worker.lb.balance_workers=n1,typo', 'worker.n1.type=http');
    const r = parse(text, { lenient: true });
    expect(errors(r.issues)).toEqual([]);
    const typo = member(text, 'typo', 'lb', { lenient: true });
    expect([typo.type, typo.host, typo.port]).toEqual(['ajp13', 'localhost', 8009]);
    const ghost = r.workers.workers.get('ghost');
    expect(ghost?.type).toBe('ajp13');
    expect(warnings(r.issues)).toContain(
      "workers.properties:3: worker.lb.balance_workers: member 'typo' is not defined (no worker.typo.* properties); created as an ajp13 worker for localhost:8009 as mod_jk does",
    );
  });

  it('bad values fall back as in mod_jk', () => {
    const text = twoMembers('worker.n1.lbfactor=3x', 'worker.n1.activation=x', 'worker.n2.lbfactor=abc', 'worker.lb.method=Z', 'worker.n1.reply_timeout=-1');
    const r = parse(text, { lenient: true });
    expect(errors(r.issues)).toEqual([]);
    expect(warnings(r.issues)).toContain("workers.properties:8: worker.n1.lbfactor: '3x' is not an integer; using 3 as mod_jk does");
    const n1 = member(text, 'n1', 'lb', { lenient: true });
    const n2 = member(text, 'n2', 'lb', { lenient: true });
    expect([n1.lbfactor, n1.activation, n2.lbfactor, n1.replyTimeoutMs]).toEqual([3, 'ACT', 1, 0]);
  });

  it('unknown directives stay errors', () => {
    expect(errors(parse(twoMembers('worker.n1.colour=red'), { lenient: true }).issues)).toHaveLength(1);
  });
});
