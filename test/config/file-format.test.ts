/** workers.properties line format and property rules (docs/directives.md#file-format). */
import { describe, expect, it } from 'vitest';
import { readPropertyLines, substitute } from '../../src/config/lines.js';
import { parseBool, parseIntLikeModJk, parseIntStrict } from '../../src/config/values.js';
import { errors, lb, member, parse, props, twoMembers, warnings } from './helpers.js';

function propsOf(text: string, env: NodeJS.ProcessEnv = {}): Map<string, string> {
  return new Map(parse(text, { env }).workers.properties.map(([k, v]) => [k, v]));
}

describe('lines (docs/directives.md#lines-and-comments)', () => {
  it.each([
    ['a=b', [['a', 'b']]],
    ['  a  =  b  ', [['a', 'b']]],
    ['a=b # comment', [['a', 'b']]],
    ['a=b#c', [['a', 'b']]],
    ['# whole line', []],
    ['a=b=c', [['a', 'b=c']]],
    ['no equals sign', []],
    ['a=', []],
    ['=b', []],
    ['a=   # only a comment', []],
    ['a="q"', [['a', '"q"']]],
    ['a=b\r', [['a', 'b']]],
    ['\ta\t=\tb\t', [['a', 'b']]],
  ])('%j → %j', (line, expected) => {
    expect(readPropertyLines(line).map((l) => [l.key, l.value])).toEqual(expected);
  });

  it('keeps 1-based line numbers of the lines it keeps', () => {
    expect(readPropertyLines('# c\n\na=1\nbad\nb=2\n').map((l) => l.line)).toEqual([3, 5]);
  });

  it('keys are case-sensitive: Worker.n1.port is a user variable, not a directive', () => {
    const r = parse(props('Worker.n1.port=1', 'worker.list=n1', 'worker.n1.port=8010'));
    expect(errors(r.issues)).toEqual([]);
    expect(r.workers.properties).toContainEqual(['Worker.n1.port', '1']);
  });
});

describe('$(NAME) substitution (docs/directives.md#substitution)', () => {
  const lookup = (m: Record<string, string>) => (n: string) => m[n];
  it.each([
    ['$(a)', { a: 'x' }, 'x'],
    ['pre$(a)post', { a: 'x' }, 'prexpost'],
    ['$(a)$(b)', { a: 'x', b: 'y' }, 'xy'],
    ['$(missing)', {}, '$(missing)'],
    ['$(a', { a: 'x' }, '$(a'],
    ['$(a)', { a: '$(b)', b: 'no' }, '$(b)'], // not recursive
  ])('%s with %j → %s', (value, vars, out) => {
    expect(substitute(value, lookup(vars))).toBe(out);
  });

  it('uses earlier properties (any key), then the environment; later definitions are not seen', () => {
    const p = propsOf(
      props(
        'base=10.0.0',
        'worker.list=n1',
        'worker.n1.host=$(base).1',
        'worker.n1.source=$(worker.n1.host)',
        'worker.n1.route=$(ROUTE)',
        'worker.n1.domain=$(later)',
        'later=too-late',
      ),
      { ROUTE: 'r-env', base: 'env-loses' },
    );
    expect(p.get('worker.n1.host')).toBe('10.0.0.1');
    expect(p.get('worker.n1.source')).toBe('10.0.0.1');
    expect(p.get('worker.n1.route')).toBe('r-env');
    expect(p.get('worker.n1.domain')).toBe('$(later)');
  });
});

describe('repeated keys (docs/directives.md#repeated-keys)', () => {
  it('worker.list and balance_workers accumulate over lines', () => {
    const r = parse(
      props(
        'worker.list=lb',
        'worker.list=n1',
        'worker.lb.type=lb',
        'worker.lb.balance_workers=n1',
        'worker.lb.balance_workers=n2 n3',
        'worker.n1.port=1',
        'worker.n2.port=2',
        'worker.n3.port=3',
      ),
    );
    expect(errors(r.issues)).toEqual([]);
    expect(r.workers.list).toEqual(['lb', 'n1']);
    expect(lb(props(...['worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=n1', 'worker.lb.balance_workers=n2 n3', 'worker.n1.port=1', 'worker.n2.port=2', 'worker.n3.port=3'])).members.map((m) => m.name)).toEqual(['n1', 'n2', 'n3']);
    expect(r.workers.properties).toContainEqual(['worker.lb.balance_workers', 'n1,n2 n3']);
  });

  it('fail_on_status and mount accumulate', () => {
    const m = member(twoMembers('worker.n1.fail_on_status=500', 'worker.n1.fail_on_status=-404,503'), 'n1');
    expect(m.failOnStatus).toEqual([500, -404, 503]);
    expect(lb(twoMembers('worker.lb.mount=/a/*', 'worker.lb.mount=/b/* /c')).mounts).toEqual(['/a/*', '/b/*', '/c']);
  });

  it('a unique directive: the later value wins, with a warning naming both lines', () => {
    const r = parse(twoMembers('worker.n1.lbfactor=2', 'worker.n1.lbfactor=5'));
    expect(r.workers.workers.get('lb')?.type === 'lb' && r.workers.workers.get('lb')).toBeTruthy();
    expect(member(twoMembers('worker.n1.lbfactor=2', 'worker.n1.lbfactor=5'), 'n1').lbfactor).toBe(5);
    expect(warnings(r.issues)).toContain('workers.properties:9: worker.n1.lbfactor: repeated (also at line 8); this later value wins');
  });

  it('distance and worker.maintain are joined with * and the first value wins', () => {
    const text = twoMembers('worker.n1.distance=1', 'worker.n1.distance=2', 'worker.maintain=30', 'worker.maintain=90');
    const r = parse(text);
    expect(errors(r.issues)).toEqual([]);
    expect(member(text, 'n1').distance).toBe(1);
    expect(r.workers.maintainSec).toBe(30);
    expect(r.workers.properties).toContainEqual(['worker.n1.distance', '1*2']);
    expect(warnings(r.issues).some((w) => w.startsWith('workers.properties:9: worker.n1.distance: repeated (first at line 8)'))).toBe(true);
  });

  it('a redefined user variable becomes old*new', () => {
    expect(propsOf(props('v=a', 'v=b', 'worker.list=x', 'worker.x.host=$(v)')).get('worker.x.host')).toBe('a*b');
  });
});

describe('integers (docs/directives.md#validation-and-bad-values)', () => {
  it.each([
    ['42', 42], ['-3', -3], ['+7', 7], ['2k', 2048], ['2K', 2048], ['1m', 1048576], ['1M', 1048576],
    ['1x', null], ['abc', null], ['', null], ['99999999999', null], ['1.5', null],
  ])('strict %j → %j', (s, n) => expect(parseIntStrict(s)).toBe(n));

  it.each([['1x', 1], ['12abc', 12], ['4k!', 4096], ['abc', null], ['-', null]])('as mod_jk %j → %j', (s, n) => {
    expect(parseIntLikeModJk(s)).toBe(n);
  });

  it('k/m suffixes apply to directives', () => {
    expect(member(twoMembers('worker.n1.max_packet_size=16k'), 'n1').maxPacketSize).toBe(16384);
  });
});

describe('booleans (docs/directives.md#booleans)', () => {
  it.each([
    ['off', false], ['OFF', false], ['false', false], ['False', false], ['f', false], ['no', false], ['nope', false],
    ['N', false], ['0', false],
    ['on', true], ['oN', true], ['true', true], ['TRUE', true], ['t', true], ['yes', true], ['Y', true], ['1', true],
    ['2', null], ['01', null], ['enabled', null], ['10', null],
  ])('%j → %j', (s, b) => expect(parseBool(s)).toBe(b));

  it('an unrecognised spelling is an error, or the default with a warning in lenient mode', () => {
    const text = twoMembers('worker.lb.sticky_session=enabled');
    expect(errors(parse(text).issues)).toEqual([
      "workers.properties:8: worker.lb.sticky_session: 'enabled' is not a boolean (true/false, yes/no, on/off, 1/0)",
    ]);
    expect(lb(text, 'lb', { lenient: true }).stickySession).toBe(true);
  });
});

describe('comments (docs/directives.md#lines-and-comments)', () => {
  it('# ends the value anywhere, so it cannot be part of a secret', () => {
    const text = props('worker.list=a', 'worker.a.type=ajp13', 'worker.a.secret=abc#def');
    expect(parse(text).workers.properties).toContainEqual(['worker.a.secret', 'abc']);
  });
});

describe('reference (docs/directives.md#inheritance)', () => {
  it('copies absent keys from the template; own keys win; lists are not merged', () => {
    const text = props(
      'worker.list=lb',
      'worker.lb.type=lb',
      'worker.lb.balance_workers=n1',
      'worker.tpl.type=http',
      'worker.tpl.port=9000',
      'worker.tpl.fail_on_status=500,503',
      'worker.n1.reference=worker.tpl',
      'worker.n1.port=9001',
      'worker.n1.fail_on_status=404',
    );
    const n1 = member(text, 'n1');
    expect(n1.type).toBe('http');
    expect(n1.port).toBe(9001);
    expect(n1.failOnStatus).toEqual([404]);
  });

  it('chains resolve depth first', () => {
    const text = props(
      'worker.list=lb',
      'worker.lb.type=lb',
      'worker.lb.balance_workers=n1',
      'worker.n1.reference=worker.mid',
      'worker.mid.reference=worker.base',
      'worker.mid.lbfactor=3',
      'worker.base.type=http',
      'worker.base.lbfactor=1',
      'worker.base.reply_timeout=777',
    );
    const n1 = member(text, 'n1');
    expect([n1.type, n1.lbfactor, n1.replyTimeoutMs]).toEqual(['http', 3, 777]);
  });

  it('inherited properties appear in `properties` for dump', () => {
    const text = props('worker.list=a', 'worker.t.type=http', 'worker.a.reference=worker.t');
    expect(parse(text).workers.properties).toContainEqual(['worker.a.type', 'http']);
  });

  it('an inherited bad value is reported at the template line', () => {
    const text = props('worker.list=a', 'worker.t.type=http', 'worker.t.lbfactor=x', 'worker.a.reference=worker.t');
    expect(errors(parse(text).issues)).toEqual(["workers.properties:3: worker.t.lbfactor: 'x' is not an integer"]);
  });
});

describe('deprecated and ignored names (docs/directives.md#deprecated-and-ignored-names)', () => {
  it.each([
    ['worker.lb.balanced_workers=n1,n2', 'balance_workers', (t: string) => lb(t.replace('worker.lb.balance_workers=n1,n2\n', '')).members.length, 2],
    ['worker.n1.jvm_route=r1', 'route', (t: string) => member(t, 'n1').route, 'r1'],
    ['worker.n1.disabled=true', 'activation', (t: string) => member(t, 'n1').activation, 'DIS'],
    ['worker.n1.stopped=true', 'activation', (t: string) => member(t, 'n1').activation, 'STP'],
    ['worker.n1.cachesize=7', 'connection_pool_size', (t: string) => member(t, 'n1').connectionPoolSize, 7],
    ['worker.n1.cache_timeout=30', 'connection_pool_timeout', (t: string) => member(t, 'n1').connectionPoolTimeoutSec, 30],
  ])('%s is honoured with a warning', (line, replacement, read, expected) => {
    const text = twoMembers(line);
    const r = parse(text);
    expect(errors(r.issues)).toEqual([]);
    expect(warnings(r.issues).some((w) => w.endsWith(`deprecated; use '${replacement}'`))).toBe(true);
    expect(read(text)).toBe(expected);
  });

  it('route wins over jvm_route, activation over stopped/disabled', () => {
    const m = member(twoMembers('worker.n1.jvm_route=old', 'worker.n1.route=new', 'worker.n1.stopped=true', 'worker.n1.activation=D'), 'n1');
    expect([m.route, m.activation]).toEqual(['new', 'DIS']);
  });

  it.each(['recycle_timeout=5', 'local_worker=true', 'cmd_line=x', 'sysprops=a=b', 'socket_buffer=8192'])('worker.n1.%s is accepted with a warning', (line) => {
    const r = parse(twoMembers(`worker.n1.${line}`));
    expect(errors(r.issues)).toEqual([]);
    expect(warnings(r.issues).some((w) => w.includes('ignored by jkbalancer'))).toBe(true);
  });
});

describe('enumerations by first character (docs/directives.md#lb-workers, #member-balancing)', () => {
  it.each([
    ['R', 'Request'], ['traffic', 'Traffic'], ['b', 'Busyness'], ['3', 'Sessions'], ['Sessions', 'Sessions'], ['N', 'Next'], ['4', 'Next'],
  ])('method=%s → %s', (v, m) => expect(lb(twoMembers(`worker.lb.method=${v}`)).method).toBe(m));

  it.each([['A', 'ACT'], ['d', 'DIS'], ['Stopped', 'STP'], ['1', 'DIS'], ['2', 'STP']])('activation=%s → %s', (v, a) => {
    expect(member(twoMembers(`worker.n1.activation=${v}`), 'n1').activation).toBe(a);
  });

  it('a misspelling decided by its first letter is taken, with a warning', () => {
    const r = parse(twoMembers('worker.lb.method=Sesion'));
    expect(errors(r.issues)).toEqual([]);
    expect(warnings(r.issues)).toContain("workers.properties:8: worker.lb.method: 'Sesion' read as Sessions (only the first character counts)");
  });

  it('lock', () => expect(lb(twoMembers('worker.lb.lock=P')).lock).toBe('Pessimistic'));
});
