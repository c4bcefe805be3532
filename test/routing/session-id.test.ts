import { describe, expect, it } from 'vitest';
import { cookieSessionIds, extractSessionId, pathSessionId } from '../../src/routing/session-id.js';

describe('pathSessionId (docs/load-balancing.md#path-parameter)', () => {
  it.each([
    ['/a;jsessionid=X.n1', 'X.n1'],
    ['/a;jsessionid=X.n1?q=1', 'X.n1'],
    ['/a;jsessionid=X.n1;other=2', 'X.n1'],
    ['/a;jsessionid=X.n1/b', 'X.n1'],
    ['/a;jsessionid=;x', ''],
    ['/a;jsessionidfoo;jsessionid=Y.n2', 'Y.n2'],
    ['/a;jsessionid', null],
    ['/a;jsessionid=', null], // trailing name= is "not found" (no read past the end)
    ['/a;JSESSIONID=X.n1', null],
    ['/a', null],
  ])('%s → %s', (path, want) => {
    expect(pathSessionId(path, ';jsessionid')).toBe(want);
  });

  it('an empty parameter name finds nothing', () => {
    expect(pathSessionId('/a;x=1', '')).toBeNull();
  });
});

describe('cookieSessionIds (docs/load-balancing.md#cookies)', () => {
  it.each([
    [['JSESSIONID=A.n1'], 'A.n1'],
    [['a=1; JSESSIONID=A.n1; b=2'], 'A.n1'],
    [['JSESSIONID = A.n1'], ' A.n1'], // whitespace before '=' skipped, after kept
    [['JSESSIONID=A.n1 ;x=1'], 'A.n1 '],
    [['JSESSIONID="A.n1"'], 'A.n1'],
    [['JSESSIONID="'], '"'], // a lone quote is not a quoted value
    [['JSESSIONID=A.n1,JSESSIONID=B.n2'], 'A.n1;B.n2'],
    [['JSESSIONID=A.n1', 'x=1', 'JSESSIONID=C.n3'], 'A.n1;C.n3'],
    [['MYJSESSIONID=A.n1'], null],
    [['x=JSESSIONID=A.n1'], null], // preceded by '='
    [['x=a JSESSIONID=A.n1'], 'A.n1'], // substring search inside a value: accepted after whitespace
    [['jsessionid=A.n1'], null],
    [['JSESSIONID='], null], // name= at the very end: nothing read past the end
    [['JSESSIONID=;x=1'], ''],
    [['JSESSIONID'], null],
    [[], null],
  ])('%j → %j', (headers, want) => {
    expect(cookieSessionIds(headers, 'JSESSIONID')).toBe(want);
  });
});

describe('extractSessionId (docs/load-balancing.md#session-ids)', () => {
  it('path id wins and shuts cookies out', () => {
    expect(extractSessionId('/a;jsessionid=P.n1', ['JSESSIONID=C.n2'], ';jsessionid', 'JSESSIONID')).toBe('P.n1');
  });
  it('an empty path id means no session and cookies are not consulted', () => {
    expect(extractSessionId('/a;jsessionid=;x', ['JSESSIONID=C.n2'], ';jsessionid', 'JSESSIONID')).toBeNull();
  });
  it('falls back to cookies', () => {
    expect(extractSessionId('/a', ['JSESSIONID=C.n2'], ';jsessionid', 'JSESSIONID')).toBe('C.n2');
  });
  it('an empty cookie value means no session', () => {
    expect(extractSessionId('/a', ['JSESSIONID=;a=b'], ';jsessionid', 'JSESSIONID')).toBeNull();
  });
});
