/**
 * The http members' reply parser reads the usual reply itself and leaves the rest to llhttp
 * (src/proxy/transports/http1/response-parser.ts). Whatever the bytes and however they are split
 * over reads, it must hand the data path exactly what llhttp alone hands it: the same heads, the
 * same body bytes, the same ends and the same refusals. And it must really take the usual reply.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResponseParser } from '../../../src/proxy/transports/http1/response-parser.js';

type Event = ['head', number, string, string[], boolean] | ['body', string] | ['complete'] | ['error', string];

/** Every event of one connection's replies, fed `chunks` in order; a reply is expected after each complete. */
function run(chunks: Buffer[], fastPath: boolean, headOnly = false): { events: Event[]; fast: number } {
  const p = new ResponseParser(fastPath);
  const events: Event[] = [];
  let body = '';
  const flushBody = (): void => {
    if (body) events.push(['body', body]);
    body = '';
  };
  const listener = {
    head: (status: number, text: string, headers: string[], keepAlive: boolean) => events.push(['head', status, text, headers, keepAlive]),
    body: (chunk: Buffer) => {
      body += chunk.toString('latin1');
    },
    complete: () => {
      flushBody();
      events.push(['complete']);
      // The connection is reused for one more request only: bytes after that are unasked for.
      if (events.filter((e) => e[0] === 'complete').length < 2) p.expect(listener, headOnly);
    },
  };
  p.expect(listener, headOnly);
  for (const c of chunks) {
    const err = p.execute(c);
    if (err !== null) {
      flushBody();
      events.push(['error', err.code ?? 'no code']);
      break;
    }
  }
  flushBody();
  return { events, fast: p.fastReplies };
}

/** `bytes` cut at `cuts` (sorted offsets). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c > at) out.push(bytes.subarray(at, c));
    at = Math.max(at, c);
  }
  return out;
}

const b = (s: string) => Buffer.from(s, 'latin1');

const PLAIN = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nset-cookie: JSESSIONID=1.n1; Path=/\r\n\r\nhello';

/** Replies the fast path must take or leave exactly as llhttp would. */
const CORPUS = [
  PLAIN,
  'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 404\r\nContent-Length: 3\r\n\r\nabc',
  'HTTP/1.1 503 \r\nContent-Length: 3\r\n\r\nabc',
  'HTTP/1.1 200 Very  Good\r\nContent-Length: 3\r\n\r\nabc',
  'HTTP/1.1 200 OK \r\nContent-Length: 3\r\n\r\nabc',
  'HTTP/1.1 200 O\x01K\r\nContent-Length: 3\r\n\r\nabc',
  'HTTP/1.1 200 OK\r\nX:  a b  \r\nY:\tc\t\r\nZ:\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nX: caf\xe9\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nX: a\x7fb\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nX: a\nb\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\n X: a\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nX(: a\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nContent-Length: 02\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nContent-Length:  2 \r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\nTrailer: t\r\n\r\n',
  'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nConnection: CLOSE\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: foo\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 999 OK\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\n\r\n',
  'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nxy',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection closes',
  'HTTP/1.1 200 OK\nContent-Length: 2\n\nxy',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nxyHTTP/1.1 200 OK\r\n',
  `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nxy`,
  ...[8_150, 16_300, 16_340, 16_360].map((n) => `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(n)}\r\nContent-Length: 2\r\n\r\nxy`),
  'garbage\r\n\r\n',
];

describe('http member reply parser: the fast path and llhttp agree', () => {
  it('takes the usual reply itself, with what follows it on the connection', () => {
    const two = b(PLAIN + PLAIN);
    const fast = run([two], true);
    expect(fast.fast).toBe(2);
    expect(fast.events).toEqual(run([two], false).events);
    expect(fast.events.map((e) => e[0])).toEqual(['head', 'body', 'complete', 'head', 'body', 'complete']);
    // A reply whose body comes in later reads.
    const late = run(split(b(PLAIN), [PLAIN.length - 3, PLAIN.length - 1]), true);
    expect(late.fast).toBe(1);
    expect(late.events).toEqual(run([b(PLAIN)], false).events);
  });

  it('leaves a HEAD reply to llhttp (no body, whatever Content-Length says)', () => {
    const r = run([b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n')], true, true);
    expect(r.fast).toBe(0);
    expect(r.events).toEqual([['head', 200, 'OK', ['Content-Length', '5'], true], ['complete']]);
  });

  it('gives the same events for every reply of the corpus, twice in a row, split at every offset', () => {
    for (const reply of CORPUS) {
      const bytes = b(reply + reply);
      const whole = run([bytes], false).events;
      expect(run([bytes], true).events, reply).toEqual(whole);
      for (let i = 1; i < bytes.length && i < 400; i++) {
        expect(run(split(bytes, [i]), true).events, `${JSON.stringify(reply)} cut at ${i}`).toEqual(run(split(bytes, [i]), false).events);
      }
    }
  });

  it('gives the same events for generated replies cut anywhere', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
    const anyName = fc.oneof(token, fc.constantFrom('Content-Length', 'content-length', 'Connection', 'Transfer-Encoding', 'Proxy-Connection', 'Upgrade', 'X y', 'X:', ''));
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('close', 'keep-alive', 'chunked', '0', '3', '03', ' 3 ', '3,3', '\t x \t', 'caf\xe9', 'a\x01b'),
    );
    const reply = fc.record({
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/1.1', 'HTTP/1.1'),
      status: fc.constantFrom('200', '201', '302', '404', '500', '599', '204', '304', '100', '1000', '2x0'),
      reason: fc.constantFrom(' OK', '', ' ', ' Not Found', ' a\tb'),
      headers: fc.array(fc.tuple(anyName, value), { maxLength: 6 }),
      length: fc.option(fc.constantFrom('0', '3', '5'), { nil: undefined }),
      body: fc.constantFrom('', 'abc', 'abcdefgh'),
    });
    fc.assert(
      fc.property(reply, fc.array(fc.nat(120), { maxLength: 4 }), (r, cuts) => {
        const head = [`${r.version} ${r.status}${r.reason}`, ...r.headers.map(([n, v]) => `${n}: ${v}`), ...(r.length === undefined ? [] : [`Content-Length: ${r.length}`])];
        const bytes = b(`${head.join('\r\n')}\r\n\r\n${r.body}`);
        const chunks = split(bytes, [...cuts].sort((x, y) => x - y));
        expect(run(chunks, true).events).toEqual(run(chunks, false).events);
      }),
      { numRuns: 3000 },
    );
  });
});
