/** URI normalisation before mapping (docs/uri-mapping.md#path-normalisation). */
import { describe, expect, it } from 'vitest';
import { normalizePath } from '../../src/config/index.js';

describe('normalizePath', () => {
  it.each([
    ['/', '/'],
    ['/app/index.jsp', '/app/index.jsp'],
    ['/.well-known/x', '/.well-known/x'],
    ['/app/;jsessionid=ABC.n1', '/app/'],
    ['/app;jsessionid=ABC.n1', '/app'],
    ['/a;x=1/b;y=2/c', '/a/b/c'],
    ['/a%20b', '/a b'],
    ['/%61pp/x', '/app/x'],
    ['/a%3Bb', '/a;b'],
    ['//a///b//', '/a/b/'],
    ['/a/./b/.', '/a/b/'],
    ['/a/b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/..;x/b', '/b'],
    ['/a/b?x=/../..', '/a/b'],
    ['/..foo', '/..foo'],
    ['/caf%C3%A9', '/café'],
  ])('%s → %s', (raw, out) => expect(normalizePath(raw)).toBe(out));

  it.each([
    ['/..'],
    ['/a/../..'],
    ['/%2e%2e/x'],
    ['/a%2Fb'],
    ['/a%00'],
    ['/a%zz'],
    ['/a%'],
    ['/%C3'],
    ['app'],
    ['*'],
    [''],
  ])('%s → null', (raw) => expect(normalizePath(raw)).toBeNull());

  it('returns the very same string when nothing needs doing (fast path)', () => {
    const s = '/app/static/img/logo.png';
    expect(normalizePath(s)).toBe(s);
  });
});
