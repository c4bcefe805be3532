/** Header rewriting between client and member (pure functions, table-driven). */
import { describe, expect, it } from 'vitest';
import { cookieLines, forwardRequestHeaders, relayResponseHeaders } from '../../src/proxy/headers.js';

const pairs = (flat: string[]) => Array.from({ length: flat.length / 2 }, (_, i) => `${flat[2 * i]}: ${flat[2 * i + 1]}`);

describe('forwardRequestHeaders', () => {
  it.each([
    ['hop-by-hop removed, Host kept', ['Host', 'a.example', 'Connection', 'keep-alive', 'Keep-Alive', '5', 'TE', 'trailers', 'Accept', '*/*'],
      ['Host: a.example', 'Accept: */*', 'x-forwarded-for: 10.0.0.9', 'x-forwarded-proto: http', 'x-forwarded-host: a.example', 'forwarded: for=10.0.0.9;proto=http;host="a.example"']],
    ['names listed in Connection removed', ['Connection', 'close, X-Secret', 'X-Secret', 's', 'X-Keep', 'k'],
      ['X-Keep: k', 'x-forwarded-for: 10.0.0.9', 'x-forwarded-proto: http', 'forwarded: for=10.0.0.9;proto=http']],
    ['X-Forwarded-For appended, client x-jk-* and -Proto dropped', ['X-Forwarded-For', '1.1.1.1', 'x-jk-route', 'evil', 'X-JK-LB-Activation', 'DIS', 'X-Forwarded-Proto', 'https'],
      ['x-forwarded-for: 1.1.1.1, 10.0.0.9', 'x-forwarded-proto: http', 'forwarded: for=10.0.0.9;proto=http']],
    ["a client's Forwarded and X-Forwarded-Host cannot pose as ours: our hop is the last element", ['Forwarded', 'for=6.6.6.6;proto=https', 'X-Forwarded-Host', 'evil.example', 'Host', 'a.example'],
      ['Host: a.example', 'x-forwarded-for: 10.0.0.9', 'x-forwarded-proto: http', 'x-forwarded-host: a.example', 'forwarded: for=6.6.6.6;proto=https, for=10.0.0.9;proto=http;host="a.example"']],
    ['upgrade and expect never go to a member', ['Upgrade', 'websocket', 'Expect', '100-continue', 'Transfer-Encoding', 'chunked'],
      ['x-forwarded-for: 10.0.0.9', 'x-forwarded-proto: http', 'forwarded: for=10.0.0.9;proto=http']],
  ])('%s', (_name, raw, expected) => {
    expect(pairs(forwardRequestHeaders(raw, '::ffff:10.0.0.9', false))).toEqual(expected);
  });

  it('says https for TLS clients', () => {
    expect(pairs(forwardRequestHeaders([], '::1', true))).toEqual(['x-forwarded-for: ::1', 'x-forwarded-proto: https', 'forwarded: for="[::1]";proto=https']);
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
