/** Header rewriting between client and member (pure functions, table-driven). */
import { describe, expect, it } from 'vitest';
import { cookieLines, forwardRequestHeaders, relayResponseHeaders } from '../../src/proxy/headers.js';

const pairs = (flat: string[]) => Array.from({ length: flat.length / 2 }, (_, i) => `${flat[2 * i]}: ${flat[2 * i + 1]}`);

describe('forwardRequestHeaders', () => {
  it.each([
    ['hop-by-hop removed, Host kept', ['Host', 'a.example', 'Connection', 'keep-alive', 'Keep-Alive', '5', 'TE', 'trailers', 'Accept', '*/*'],
      ['Host: a.example', 'Accept: */*', 'x-forwarded-for: 10.0.0.9', 'x-forwarded-proto: http', 'x-forwarded-host: a.example']],
    ['names listed in Connection removed', ['Connection', 'close, X-Secret', 'X-Secret', 's', 'X-Keep', 'k'],
      ['X-Keep: k', 'x-forwarded-for: 10.0.0.9', 'x-forwarded-proto: http']],
    ['X-Forwarded-For appended, client x-jk-* and -Proto dropped', ['X-Forwarded-For', '1.1.1.1', 'x-jk-route', 'evil', 'X-JK-LB-Activation', 'DIS', 'X-Forwarded-Proto', 'https'],
      ['x-forwarded-for: 1.1.1.1, 10.0.0.9', 'x-forwarded-proto: http']],
    ['upgrade and expect never go to undici', ['Upgrade', 'websocket', 'Expect', '100-continue', 'Transfer-Encoding', 'chunked'],
      ['x-forwarded-for: 10.0.0.9', 'x-forwarded-proto: http']],
  ])('%s', (_name, raw, expected) => {
    expect(pairs(forwardRequestHeaders(raw, { remoteAddress: '::ffff:10.0.0.9', secure: false }))).toEqual(expected);
  });

  it('says https for TLS clients', () => {
    expect(pairs(forwardRequestHeaders([], { remoteAddress: '::1', secure: true }))).toEqual(['x-forwarded-for: ::1', 'x-forwarded-proto: https']);
  });
});

describe('relayResponseHeaders', () => {
  it('drops framing and Connection-listed headers, keeps repeated Set-Cookie, appends the stickiness cookie', () => {
    const raw = ['transfer-encoding', 'chunked', 'connection', 'x-internal', 'x-internal', '1', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'content-type', 'text/plain'];
    expect(pairs(relayResponseHeaders(raw, 'JSESSIONID=.n1;PATH=/;HttpOnly'))).toEqual([
      'set-cookie: a=1',
      'set-cookie: b=2',
      'content-type: text/plain',
      'Set-Cookie: JSESSIONID=.n1;PATH=/;HttpOnly',
    ]);
  });
});

describe('cookieLines', () => {
  it('collects every Cookie header in order, case-insensitively', () => {
    expect(cookieLines(['Cookie', 'a=1', 'Accept', 'x', 'cookie', 'JSESSIONID=b.n2'])).toEqual(['a=1', 'JSESSIONID=b.n2']);
  });
});
