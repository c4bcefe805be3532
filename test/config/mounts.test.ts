/** uriworkermap.properties and mount precedence (docs/uri-mapping.md). */
import { describe, expect, it } from 'vitest';
import { createMountMap } from '../../src/config/index.js';
import type { MountRule } from '../../src/config/index.js';
import { NO_EXTENSIONS } from '../../src/config/rule-extensions.js';
import { errors, mounts, props, warnings } from './helpers.js';

const WORKERS = props(
  'worker.list=lb,other,jkstatus',
  'worker.lb.type=lb',
  'worker.lb.balance_workers=n1,n2',
  'worker.n1.type=http',
  'worker.n2.type=http',
  'worker.other.type=http',
  'worker.jkstatus.type=status',
);

function map(...lines: string[]) {
  const r = mounts(WORKERS, props(...lines));
  expect(errors(r.issues)).toEqual([]);
  return r.mounts;
}

function target(m: ReturnType<typeof map>, path: string): string | null {
  return m.match(path)?.worker ?? null;
}

describe('precedence (docs/uri-mapping.md#precedence)', () => {
  it('more slashes win over a longer pattern', () => {
    const m = map('/aaaaaaaaaaaaaaaa*=other', '/a/*=lb');
    expect(target(m, '/a/x')).toBe('lb');
    expect(target(m, '/aaaaaaaaaaaaaaaaz')).toBe('other');
  });

  it('with equal slashes the longer pattern wins', () => {
    const m = map('/app*=other', '/application*=lb');
    expect(target(m, '/applicationX')).toBe('lb');
    expect(target(m, '/apple')).toBe('other');
  });

  it('a wildcard rule can outrank an exact rule (rank is not exact-first)', () => {
    const m = map('/a/b=other', '/a/b*=lb');
    expect(target(m, '/a/b')).toBe('lb');
    const m2 = map('/a/bc=other', '/a/?*=lb');
    expect(target(m2, '/a/bc')).toBe('other');
  });

  it('with equal slashes and length uriworkermap outranks worker definition', () => {
    const r = mounts(props('worker.list=lb,other', 'worker.lb.type=lb', 'worker.lb.balance_workers=n1', 'worker.n1.type=http', 'worker.other.type=http', 'worker.other.mount=/x/*'), props('/x/*=lb'));
    expect(r.mounts.match('/x/y')?.worker).toBe('lb');
    expect(r.mounts.rules.map((x) => x.source)).toEqual(['uriworkermap', 'worker definition']);
  });

  it('rules sort by slashes, then length, then source', () => {
    const rule = (pattern: string, source: MountRule['source']): MountRule => ({
      pattern, worker: 'lb', disabled: false, exclusion: false, wildchar: pattern.includes('*'), source, ext: NO_EXTENSIONS,
      source_ref: { file: 'f', line: 1 },
    });
    const m = createMountMap([rule('/*', 'worker definition'), rule('/a/*', 'worker definition'), rule('/ab', 'JkMount'), rule('/ab', 'uriworkermap'), rule('/a/bc', 'uriworkermap')]);
    expect(m.rules.map((r) => `${r.pattern} ${r.source}`)).toEqual(['/a/bc uriworkermap', '/a/* worker definition', '/ab uriworkermap', '/ab JkMount', '/* worker definition']);
  });

  it('exact rules match the whole path only (no prefix matching)', () => {
    const m = map('/app=lb');
    expect(target(m, '/app')).toBe('lb');
    expect(target(m, '/app/')).toBeNull();
    expect(target(m, '/apps')).toBeNull();
  });

  it('* matches across slashes, ? exactly one character', () => {
    const m = map('/a/*.jsp=lb', '/b/?=other');
    expect(target(m, '/a/x/y/z.jsp')).toBe('lb');
    expect(target(m, '/a/.jsp')).toBe('lb');
    expect(target(m, '/b/x')).toBe('other');
    expect(target(m, '/b/xy')).toBeNull();
    expect(target(m, '/b/')).toBeNull();
  });

  it('regex characters in patterns are literal', () => {
    const m = map('/a.b/(x)+*=lb');
    expect(target(m, '/a.b/(x)+1')).toBe('lb');
    expect(target(m, '/aXb/(x)+1')).toBeNull();
  });

  it('patterns are case-sensitive', () => {
    expect(target(map('/App/*=lb'), '/app/x')).toBeNull();
  });
});

describe('exclusions and disabled rules (docs/uri-mapping.md#precedence, #disabled-rules)', () => {
  it('an exclusion vetoes without falling back to the next rule', () => {
    const m = map('/*=other', '/app/*=lb', '!/app/*.png=lb');
    expect(target(m, '/app/x.png')).toBeNull();
    expect(target(m, '/app/x.html')).toBe('lb');
  });

  it('an exclusion only vetoes its own worker, or every worker with *', () => {
    expect(target(map('/app/*=lb', '!/app/*.png=other'), '/app/x.png')).toBe('lb');
    expect(target(map('/app/*=lb', '!/app/*.png=*'), '/app/x.png')).toBeNull();
  });

  it('a disabled rule is inert: it neither matches nor disables other rules', () => {
    const m = map('-/app/*=lb', '/*=other');
    expect(target(m, '/app/x')).toBe('other');
    expect(target(map('/app/*=lb', '-/app/x=other'), '/app/x')).toBe('lb');
    expect(target(map('/app/*=lb', '-!/app/*=lb'), '/app/x')).toBe('lb');
    expect(map('-/app/*=lb').rules[0]).toMatchObject({ pattern: '/app/*', disabled: true, exclusion: false });
  });

  it("'!-' is not a prefix pair: the pattern must start with '/'", () => {
    expect(errors(mounts(WORKERS, props('!-/app/*=lb')).issues)).toHaveLength(1);
  });
});

describe('file format (docs/uri-mapping.md#file-format, #patterns)', () => {
  it('X|Y makes the two rules X and XY', () => {
    const m = map('/app|/*=lb');
    expect(m.rules.map((r) => r.pattern).sort()).toEqual(['/app', '/app/*']);
    expect(target(m, '/app')).toBe('lb');
    expect(target(m, '/app/x')).toBe('lb');
  });

  it('a pattern starting with * is an error with file:line; lenient skips it with a warning', () => {
    const text = props('/ok=lb', '*.jsp=lb');
    expect(errors(mounts(WORKERS, text).issues)).toEqual([
      "uriworkermap.properties:2: *.jsp: a pattern must start with '/' after the optional '-' and '!' (write '/*.jsp', not '*.jsp')",
    ]);
    const lenient = mounts(WORKERS, text, { lenient: true });
    expect(errors(lenient.issues)).toEqual([]);
    expect(lenient.mounts.rules.map((r) => r.pattern)).toEqual(['/ok']);
  });

  it('the worker must be in worker.list', () => {
    expect(errors(mounts(WORKERS, props('/x=n1', '/y=nobody')).issues)).toEqual([
      "uriworkermap.properties:1: /x: worker 'n1' is not in worker.list",
      "uriworkermap.properties:2: /y: worker 'nobody' is not in worker.list",
    ]);
  });

  it('repeated identical keys: the last wins', () => {
    const r = mounts(WORKERS, props('/x=lb', '/x=other'));
    expect(r.mounts.match('/x')?.worker).toBe('other');
    expect(r.mounts.rules).toHaveLength(1);
    expect(r.mounts.rules[0].source_ref.line).toBe(2);
    expect(warnings(r.issues)).toHaveLength(1);
  });

  it('comments, $(VAR) from earlier keys and the environment', () => {
    const r = mounts(WORKERS, props('# c', '/a=lb # trailing', 'w=other', '/b=$(w)', '/c=$(TARGET)'), { env: { TARGET: 'jkstatus' } });
    expect([r.mounts.match('/a')?.worker, r.mounts.match('/b')?.worker, r.mounts.match('/c')?.worker]).toEqual(['lb', 'other', 'jkstatus']);
  });

  it('worker.X.mount patterns are used for workers of worker.list, with their line', () => {
    const r = mounts(props('worker.list=app', 'worker.app.type=http', 'worker.app.mount=/app/* !/app/*.gif'), '');
    expect(errors(r.issues)).toEqual([]);
    expect(r.mounts.match('/app/x')?.source_ref).toEqual({ file: 'workers.properties', line: 3 });
    expect(r.mounts.match('/app/x.gif')).toBeNull();
  });

  it('worker.X.mount has no | shortcut: a pattern not starting with / is an error', () => {
    const r = mounts(props('worker.list=app', 'worker.app.type=http', 'worker.app.mount=app/*'), '');
    expect(errors(r.issues)).toEqual([
      "workers.properties:3: worker.app.mount: 'app/*': a pattern must start with '/' after the optional '-' and '!' (write '/*.jsp', not '*.jsp')",
    ]);
  });
});

describe('rule extensions (docs/uri-mapping.md#rule-extensions)', () => {
  const ext = (value: string, lenient = false) => {
    const r = mounts(WORKERS, props(`/x=${value}`), { lenient });
    return { ext: r.mounts.rules[0]?.ext, issues: r.issues };
  };

  it('defaults when none', () => {
    expect(ext('lb').ext).toEqual(NO_EXTENSIONS);
  });

  it('reads every extension', () => {
    const r = ext('lb;reply_timeout=5000;sticky_ignore=1;stateless=1;use_server_errors=500;fail_on_status=503,-404;session_cookie=SID;session_path=;sid;set_session_cookie=1;session_cookie_path=/app');
    expect(errors(r.issues)).toEqual([]);
    expect(r.ext).toEqual({
      ...NO_EXTENSIONS, replyTimeoutMs: 5000, stickyIgnore: true, stateless: true, useServerErrors: 500, failOnStatus: [503, -404],
      sessionCookie: 'SID', sessionPath: 'sid', setSessionCookie: true, sessionCookiePath: '/app',
    });
  });

  it('session_path=;foo yields foo without the leading ;', () => {
    expect(ext('lb;session_path=;foo').ext?.sessionPath).toBe('foo');
    expect(ext('lb;session_path=bar').ext?.sessionPath).toBe('bar');
  });

  it('activation overrides: names of members; the last of active/disabled/stopped applies', () => {
    const r = ext('lb;active=n1;disabled=n1,n2;stopped=n2');
    expect([r.ext?.active, r.ext?.disabled, r.ext?.stopped]).toEqual([[], ['n1'], ['n2']]);
    expect(warnings(r.issues)).toHaveLength(2);
  });

  it('unknown member names and unknown extensions are warnings', () => {
    const r = ext('lb;stopped=ghost;colour=red');
    expect(errors(r.issues)).toEqual([]);
    expect(warnings(r.issues)).toEqual([
      "uriworkermap.properties:1: /x: rule extension 'stopped=' names 'ghost', which is not a member of lb 'lb'; ignored",
      "uriworkermap.properties:1: /x: unknown rule extension 'colour=red'; ignored",
    ]);
  });

  it('lb-only extensions on another worker type are ignored with a warning', () => {
    const r = ext('other;session_cookie=X;reply_timeout=10');
    expect(r.ext?.sessionCookie).toBeNull();
    expect(r.ext?.replyTimeoutMs).toBe(10);
    expect(warnings(r.issues)).toHaveLength(1);
  });

  it('a non-integer value is an error; lenient reads it like atoi', () => {
    expect(errors(ext('lb;reply_timeout=5s').issues)).toEqual(["uriworkermap.properties:1: /x: reply_timeout= '5s' is not an integer"]);
    expect(ext('lb;reply_timeout=5s', true).ext?.replyTimeoutMs).toBe(5);
  });

  it('a repeated extension: the first wins for names, the last for numbers (as mod_jk)', () => {
    expect(ext('lb;session_cookie=A;session_cookie=B').ext?.sessionCookie).toBe('A');
    expect(ext('lb;reply_timeout=1;reply_timeout=2').ext?.replyTimeoutMs).toBe(2);
  });
});
