/** `worker.X.health_check_*` (README "Health checks"): what they build, and what `check` says of bad values. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HEALTH_CHECK_DIRECTIVES } from '../../src/config/directives.js';
import { HEALTH_CHECK_DEFAULTS, parseStatusRanges } from '../../src/config/health-check.js';
import { errors, member, parse, props, standalone, twoMembers, warnings } from './helpers.js';

describe('health check directives', () => {
  it('none without health_check_method', () => {
    expect(member(twoMembers(), 'n1').healthCheck).toBeNull();
  });

  it('defaults for a GET check', () => {
    expect(member(twoMembers('worker.n1.health_check_method=GET'), 'n1').healthCheck).toEqual({
      method: 'GET', uri: '/', host: '', expect: [[200, 399]], body: '',
      intervalMs: 10000, failIntervalMs: 10000, timeoutMs: 5000, fails: 3, passes: 2,
    });
  });

  it('every directive, the method in any case', () => {
    const text = twoMembers(
      'worker.n1.health_check_method=options',
      'worker.n1.health_check_uri=/health?deep=1',
      'worker.n1.health_check_host=app.example.com:8443',
      'worker.n1.health_check_expect=200-299, 401',
      'worker.n1.health_check_body=UP',
      'worker.n1.health_check_interval=2000',
      'worker.n1.health_check_fail_interval=500',
      'worker.n1.health_check_timeout=300',
      'worker.n1.health_check_fails=2',
      'worker.n1.health_check_passes=4',
    );
    expect(errors(parse(text).issues)).toEqual([]);
    expect(member(text, 'n1').healthCheck).toEqual({
      method: 'OPTIONS', uri: '/health?deep=1', host: 'app.example.com:8443', expect: [[200, 299], [401, 401]], body: 'UP',
      intervalMs: 2000, failIntervalMs: 500, timeoutMs: 300, fails: 2, passes: 4,
    });
  });

  it('a reference= template carries them to every member that uses it', () => {
    const text = twoMembers(
      'worker.tpl.health_check_method=HEAD',
      'worker.tpl.health_check_uri=/ping',
      'worker.n1.reference=worker.tpl',
      'worker.n2.reference=worker.tpl',
      'worker.n2.health_check_fails=1',
    );
    expect(errors(parse(text).issues)).toEqual([]);
    expect(member(text, 'n1').healthCheck).toMatchObject({ method: 'HEAD', uri: '/ping', fails: 3 });
    expect(member(text, 'n2').healthCheck).toMatchObject({ method: 'HEAD', uri: '/ping', fails: 1 });
  });

  it('TCP on an ajp13 member', () => {
    const text = props('worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=a', 'worker.a.type=ajp13', 'worker.a.health_check_method=TCP');
    expect(errors(parse(text).issues)).toEqual([]);
    expect(member(text, 'a').healthCheck?.method).toBe('TCP');
  });

  it.each([
    ['worker.n1.health_check_method=PING', "worker.n1.health_check_method: unknown health check method 'PING' (expected GET, HEAD, OPTIONS or TCP)"],
    ['worker.n1.health_check_uri=health', "worker.n1.health_check_uri: 'health' is not a request path (it must start with '/' and hold no spaces or control characters)"],
    ['worker.n1.health_check_uri=/a b', "worker.n1.health_check_uri: '/a b' is not a request path (it must start with '/' and hold no spaces or control characters)"],
    ['worker.n1.health_check_host=a b', "worker.n1.health_check_host: 'a b' is not a Host value (a name or address, optionally with ':port')"],
    ['worker.n1.health_check_expect=2xx', "worker.n1.health_check_expect: '2xx': expected HTTP statuses (100–599) or ranges such as 200-399"],
    ['worker.n1.health_check_expect=399-200,700', "worker.n1.health_check_expect: '399-200', '700': expected HTTP statuses (100–599) or ranges such as 200-399"],
    ['worker.n1.health_check_interval=10', 'worker.n1.health_check_interval: 10 is below the minimum 100'],
    ['worker.n1.health_check_interval=5s', "worker.n1.health_check_interval: '5s' is not an integer"],
    ['worker.n1.health_check_fail_interval=0', 'worker.n1.health_check_fail_interval: 0 is below the minimum 100'],
    ['worker.n1.health_check_timeout=0', 'worker.n1.health_check_timeout: 0 is below the minimum 1'],
    ['worker.n1.health_check_fails=0', 'worker.n1.health_check_fails: 0 is below the minimum 1'],
    ['worker.n1.health_check_passes=-1', 'worker.n1.health_check_passes: -1 is below the minimum 1'],
  ])('bad value: %s', (line, message) => {
    // The bad line comes after a valid method (line 8), unless it is the method itself.
    const ownMethod = line.includes('health_check_method');
    const text = ownMethod ? twoMembers(line) : twoMembers('worker.n1.health_check_method=GET', line);
    expect(errors(parse(text).issues)).toEqual([`workers.properties:${ownMethod ? 8 : 9}: ${message}`]);
  });

  it('a body check on HEAD, an HTTP check on ajp13: errors', () => {
    expect(errors(parse(twoMembers('worker.n1.health_check_method=HEAD', 'worker.n1.health_check_body=UP')).issues)).toEqual([
      'workers.properties:9: worker.n1.health_check_body: a HEAD reply has no body to look in (use GET)',
    ]);
    const ajp = props('worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=a', 'worker.a.type=ajp13', 'worker.a.health_check_method=GET');
    expect(errors(parse(ajp).issues)).toEqual([
      'workers.properties:5: worker.a.health_check_method: GET checks need a type=http member; an ajp13 member can be checked with TCP (or CPing: ping_mode)',
    ]);
  });

  it('an error names the template line a member inherited it from', () => {
    const text = twoMembers('worker.tpl.health_check_method=GET', 'worker.tpl.health_check_fails=none', 'worker.n1.reference=worker.tpl');
    expect(errors(parse(text).issues)).toEqual(["workers.properties:9: worker.tpl.health_check_fails: 'none' is not an integer"]);
  });

  it('settings without a method, or that TCP ignores, are warnings', () => {
    expect(warnings(parse(twoMembers('worker.n1.health_check_uri=/h')).issues)).toEqual([
      'workers.properties:8: worker.n1.health_check_uri: has no effect without health_check_method',
    ]);
    expect(warnings(parse(twoMembers('worker.n1.health_check_method=TCP', 'worker.n1.health_check_expect=200')).issues)).toEqual([
      'workers.properties:9: worker.n1.health_check_expect: has no effect with health_check_method=TCP (a connect alone)',
    ]);
  });

  it('a standalone worker is not checked (said as a warning)', () => {
    const text = props('worker.list=h', 'worker.h.type=http', 'worker.h.health_check_method=GET');
    expect(warnings(parse(text).issues)).toEqual([
      'workers.properties:3: worker.h.health_check_method: has no effect: health checks run on the members of lb workers',
    ]);
    expect(standalone(text, 'h').healthCheck).toBeNull();
  });

  it('bad values stay errors with --lenient: there is no mod_jk fallback for them', () => {
    expect(errors(parse(twoMembers('worker.n1.health_check_method=GET', 'worker.n1.health_check_timeout=2s'), { lenient: true }).issues)).toEqual([
      "workers.properties:9: worker.n1.health_check_timeout: '2s' is not an integer",
    ]);
  });

  it('status ranges', () => {
    expect(parseStatusRanges('200 204-206,301')).toEqual({ ranges: [[200, 200], [204, 206], [301, 301]], bad: [] });
    expect(parseStatusRanges('99,600,1-2-3')).toEqual({ ranges: [], bad: ['99', '600', '1-2-3'] });
  });
});

it('README documents every health check directive with its default', () => {
  const readme = readFileSync('README.md', 'utf8');
  expect(HEALTH_CHECK_DIRECTIVES.filter((d) => !readme.includes(`| \`worker.X.${d}\` |`))).toEqual([]);
  const d = HEALTH_CHECK_DEFAULTS;
  for (const text of [`default \`${d.uri}\``, `default ${d.intervalMs}`, `default ${d.timeoutMs})`, `default ${d.fails})`, `default ${d.passes})`, `default \`${d.expect[0].join('-')}\``]) {
    expect(readme).toContain(text);
  }
});
