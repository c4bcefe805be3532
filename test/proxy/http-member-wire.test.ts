/**
 * The http member transport (our own keep-alive connections, replies parsed by Node's llhttp) on
 * the wire, against a scripted raw backend: what goes to the member, how each reply framing comes
 * back, which connections are reused, and that a reply which cannot be framed safely never reaches
 * the client nor poisons the next request on the connection.
 */
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startBalancer, httpFarm, type TestBalancer } from '../helpers/balancer.js';
import { get } from '../helpers/http-client.js';
import { State } from '../../src/routing/types.js';

/** One request as the backend read it: its head, parsed, and its body bytes. */
interface Seen {
  readonly line: string;
  readonly headers: [string, string][];
  readonly body: Buffer;
  /** Index of the backend connection it came on (1, 2, …). */
  readonly conn: number;
}

interface Script {
  /**
   * The bytes to answer a request with (written at once; the connection is closed after them when
   * they say `connection: close`), or null to hang up without a reply.
   */
  (seen: Seen, n: number): string | Buffer | null;
}

/** A backend that reads one request at a time (Content-Length or chunked bodies) and answers as scripted. */
async function scriptedBackend(script: Script): Promise<{ port: number; seen: Seen[]; connections: () => number; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  let conns = 0;
  const server = net.createServer((socket) => {
    const conn = ++conns;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]);
        const header = (n: string) => headers.find(([k]) => k === n)?.[1];
        let rest = buf.subarray(end + 4);
        let body: Buffer;
        if (header('transfer-encoding') === 'chunked') {
          const parts: Buffer[] = [];
          for (;;) {
            const eol = rest.indexOf('\r\n');
            if (eol < 0) return; // wait for more
            const size = parseInt(rest.subarray(0, eol).toString(), 16);
            if (rest.length < eol + 2 + size + 2) return;
            if (size === 0) {
              rest = rest.subarray(eol + 4);
              break;
            }
            parts.push(rest.subarray(eol + 2, eol + 2 + size));
            rest = rest.subarray(eol + 2 + size + 2);
          }
          body = Buffer.concat(parts);
        } else {
          const len = Number(header('content-length') ?? 0);
          if (rest.length < len) return;
          body = rest.subarray(0, len);
          rest = rest.subarray(len);
        }
        buf = rest;
        const s: Seen = { line: lines[0], headers, body, conn };
        seen.push(s);
        const reply = script(s, seen.length);
        if (reply === null) socket.destroy();
        else if (/\r\nconnection: close\r\n/i.test(reply.toString('latin1'))) socket.end(reply);
        else socket.write(reply);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    connections: () => conns,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

let lb: TestBalancer | null = null;
let backend: Awaited<ReturnType<typeof scriptedBackend>> | null = null;

afterEach(async () => {
  await lb?.close();
  await backend?.close();
  lb = null;
  backend = null;
});

async function setUp(script: Script, extra = ''): Promise<TestBalancer> {
  backend = await scriptedBackend(script);
  lb = await startBalancer(httpFarm({ n1: backend.port }, extra), '/app/*=lb\n');
  return lb;
}

const member = () => lb!.app.farm.balancers.get('lb')!.memberByName('n1')!;

describe('http members on our own connections', () => {
  it('keeps one connection alive across requests and sends the head a member expects', async () => {
    await setUp(() => ok('hi'));
    for (let i = 0; i < 5; i++) {
      const r = await get(lb!.url(`/app/a?i=${i}`), { 'x-custom': 'v1' });
      expect(r.status).toBe(200);
      expect(r.text).toBe('hi');
    }
    expect(backend!.connections()).toBe(1);
    const s = backend!.seen[4];
    expect(s.line).toBe('GET /app/a?i=4 HTTP/1.1');
    const names = s.headers.map(([k]) => k);
    expect(names).toContain('host');
    expect(s.headers.find(([k]) => k === 'x-custom')?.[1]).toBe('v1');
    expect(s.headers.find(([k]) => k === 'x-jk-lb-activation')?.[1]).toBe('ACT');
    expect(s.headers.find(([k]) => k === 'x-forwarded-for')?.[1]).toBe('127.0.0.1');
    // Hop-by-hop headers of the client's connection never reach the member.
    expect(names).not.toContain('connection');
  });

  it('streams a request body of unknown length chunked, and one of known length as is', async () => {
    await setUp((s) => ok(`got ${s.body.length}`));
    const big = Buffer.alloc(200_000, 'x');
    const r1 = await get(lb!.url('/app/up'), { 'content-type': 'application/octet-stream' }, 'POST', big);
    expect(r1.text).toBe('got 200000');
    expect(backend!.seen[0].headers.find(([k]) => k === 'content-length')?.[1]).toBe('200000');
    // A chunked upload from the client: its length is unknown until the end.
    const r2 = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(lb!.port, '127.0.0.1', () => {
        socket.write('POST /app/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
      });
      let out = '';
      socket.on('data', (c) => (out += c.toString()));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    expect(r2).toMatch(/^HTTP\/1\.1 200/);
    expect(r2).toMatch(/got 11$/);
    const s = backend!.seen[1];
    expect(s.headers.find(([k]) => k === 'transfer-encoding')?.[1]).toBe('chunked');
    expect(s.body.toString()).toBe('hello world');
  });

  it('relays chunked, close-delimited and HEAD replies, skips 1xx, and keeps every header of a long head', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `x-h${i}: ${i}\r\n`).join('');
    await setUp((s) => {
      const path = s.line.split(' ')[1];
      if (path === '/app/chunked') return 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\nx-trailer: t\r\n\r\n';
      if (path === '/app/close') return 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end';
      if (path === '/app/hints') return `HTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\n${ok('final')}`;
      if (path === '/app/many') return ok('m', many);
      // HEAD: the length of the body a GET would get, and no body.
      return 'HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n';
    });
    expect((await get(lb!.url('/app/chunked'))).text).toBe('abcdefg');
    expect((await get(lb!.url('/app/close'))).text).toBe('until the end');
    const hints = await get(lb!.url('/app/hints'));
    expect([hints.status, hints.text]).toEqual([200, 'final']);
    const m = await get(lb!.url('/app/many'));
    for (let i = 0; i < 40; i++) expect(m.headers[`x-h${i}`]).toBe(String(i));
    const head = await get(lb!.url('/app/head'), {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('1234');
    // The HEAD reply left the connection clean: the next request on it is answered.
    expect((await get(lb!.url('/app/chunked'))).text).toBe('abcdefg');
    expect(member().state).toBe(State.OK);
  });

  it('reuses a connection whose big reply was relayed with backpressure', async () => {
    const big = 'b'.repeat(2_000_000);
    await setUp((s) => (s.line.includes('/big') ? ok(big) : ok('small')));
    expect((await get(lb!.url('/app/big'))).text.length).toBe(big.length);
    // The connection was paused while the client lagged; the next request on it must be read.
    expect((await get(lb!.url('/app/small'))).text).toBe('small');
    expect(backend!.connections()).toBe(1);
  });

  it('never lets bytes after a reply become the next request’s reply', async () => {
    await setUp((_s, n) =>
      // The first reply carries a whole forged reply after its body.
      n === 1 ? `${ok('first')}${ok('forged')}` : ok(`real ${n}`),
    );
    expect((await get(lb!.url('/app/1'))).text).toBe('first');
    const second = await get(lb!.url('/app/2'));
    expect(second.text).toBe('real 2');
    // The connection that carried the extra bytes was dropped, not reused.
    expect(backend!.connections()).toBe(2);
  });

  it('refuses a reply it cannot frame safely: 502-class for the client, a protocol failure for the member', async () => {
    await setUp(() => 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    const r = await get(lb!.url('/app/x'));
    expect(r.text).not.toContain('hello');
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(lb!.logs.some((l) => l.msg === 'request failed' && String(l.failovers).includes('n1:protocol'))).toBe(true);
  });

  it('retries an idempotent request once on a fresh connection when a reused one was closed by the member', async () => {
    // The member hangs up on every second request without answering (a keep-alive close racing the request).
    await setUp((_s, n) => (n === 2 ? null : ok(`n${n}`)));
    expect((await get(lb!.url('/app/a'))).text).toBe('n1');
    const r = await get(lb!.url('/app/b'));
    expect(r.text).toBe('n3');
    expect(member().errors).toBe(0);
    expect(member().state).toBe(State.OK);
  });

  it('closes idle connections after connection_pool_timeout', async () => {
    await setUp(() => ok('x'), 'worker.n1.connection_pool_timeout=1\n');
    await get(lb!.url('/app/a'));
    expect(backend!.connections()).toBe(1);
    await new Promise((r) => setTimeout(r, 2600));
    await get(lb!.url('/app/b'));
    // The first connection had expired: the second request needed a new one.
    expect(backend!.connections()).toBe(2);
  });
});
