/**
 * The AJP13 transport against a scripted AJP container on 127.0.0.1: the failure shapes real Tomcat
 * does not produce on demand (resets, garbage, odd chunk requests).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportError } from '../../../../src/proxy/transport.js';
import { createAjp13Transport, type Ajp13Transport } from '../../../../src/proxy/transports/ajp13/index.js';
import { ajpString, bufferBody, containerPacket, member, readAll, rejection, request, streamBody, until } from './fixtures.js';

/** Packets the web server sent: [payload] for 0x1234 packets. */
type Script = (sock: Socket, packet: Buffer, index: { conn: number; packet: number }) => void;

interface Fake {
  port: number;
  connections: number;
  packets: Buffer[];
  close(): Promise<void>;
}

const fakes: Fake[] = [];
const transports: Ajp13Transport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fakeContainer(script: Script): Promise<Fake> {
  const sockets = new Set<Socket>();
  const fake: Fake = { port: 0, connections: 0, packets: [], close: async () => {} };
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const conn = ++fake.connections;
    let n = 0;
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readUInt16BE(2);
        if (buf.length < 4 + len) break;
        const payload = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        fake.packets.push(payload);
        script(sock, payload, { conn, packet: ++n });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.port = (server.address() as { port: number }).port;
  fake.close = () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  fakes.push(fake);
  return fake;
}


const headers200 = containerPacket([0x04, 0x00, 200], ajpString('OK'), [0x00, 0x01, 0xa0, 0x01], ajpString('text/plain'));
const bodyChunk = (s: string) => containerPacket([0x03], ajpString(s));
const getBody = (n: number) => containerPacket([0x06, n >> 8, n & 0xff]);
const end = (reuse: boolean) => containerPacket([0x05, reuse ? 1 : 0]);
const isForward = (p: Buffer) => p[0] === 0x02;

/** Reply 200 "hello" to every forward request. */
const serveHello: Script = (sock, p) => {
  if (isForward(p)) sock.write(Buffer.concat([headers200, bodyChunk('hello'), end(true)]));
};

function transportTo(port: number, over: Parameters<typeof member>[0] = {}): Ajp13Transport {
  const t = createAjp13Transport(member({ port, ...over }));
  transports.push(t);
  return t;
}

describe('AJP13 transport error handling (scripted container)', () => {
  it('retries once on a fresh connection when a reused one is reset before any reply', async () => {
    const fake = await fakeContainer((sock, p, at) => {
      if (at.conn === 1 && at.packet === 2) sock.resetAndDestroy(); // keep-alive close racing our request
      else serveHello(sock, p, at);
    });
    const t = transportTo(fake.port);
    expect((await readAll(await t.forward(request()))).toString()).toBe('hello');
    expect((await readAll(await t.forward(request()))).toString()).toBe('hello');
    expect(fake.connections).toBe(2);
    expect(fake.packets.filter(isForward).length).toBe(3);
  });

  it('does not retry when the container closes after reading the request: read error', async () => {
    const fake = await fakeContainer((sock) => sock.end());
    const t = transportTo(fake.port);
    const err = await rejection(t.forward(request()));
    expect([err.kind, err.nothingSent]).toEqual(['read', false]);
    expect(fake.connections).toBe(1);
  });

  it('reports a read error when the reply breaks off after the head', async () => {
    const fake = await fakeContainer((sock, p) => {
      if (isForward(p)) sock.write(Buffer.concat([headers200, bodyChunk('par')]), () => sock.destroy());
    });
    const res = await transportTo(fake.port).forward(request());
    expect((await rejection(readAll(res))).kind).toBe('read');
  });

  it('reports protocol errors for a bad signature and for packets out of order', async () => {
    const garbage = await fakeContainer((sock) => sock.write('HTTP/1.1 200 OK\r\n\r\n'));
    expect((await rejection(transportTo(garbage.port).forward(request()))).kind).toBe('protocol');
    const bodyFirst = await fakeContainer((sock) => sock.write(bodyChunk('x')));
    expect((await rejection(transportTo(bodyFirst.port).forward(request()))).kind).toBe('protocol');
    const cpong = await fakeContainer((sock) => sock.write(containerPacket([0x09])));
    expect((await rejection(transportTo(cpong.port).forward(request()))).kind).toBe('protocol');
  });

  it('closes the connection when END_RESPONSE says not to reuse it', async () => {
    const fake = await fakeContainer((sock, p) => {
      if (isForward(p)) sock.write(Buffer.concat([headers200, end(false)]));
    });
    const t = transportTo(fake.port);
    await readAll(await t.forward(request()));
    expect(t.connected).toBe(0);
    await readAll(await t.forward(request()));
    expect(fake.connections).toBe(2);
  });

  it('drops an idle connection on which the container speaks unasked', async () => {
    const fake = await fakeContainer((sock, p) => {
      if (isForward(p)) sock.write(Buffer.concat([headers200, end(true)]), () => setTimeout(() => sock.write(end(true)), 20));
    });
    const t = transportTo(fake.port);
    await readAll(await t.forward(request()));
    expect(t.connected).toBe(1);
    await until(() => t.connected === 0, 'the pool to drop the connection');
    expect(fake.connections).toBe(1);
  });

  it('answers each GET_BODY_CHUNK with at most the size asked, then an empty packet', async () => {
    const body = Buffer.alloc(300, 0x61);
    const fake = await fakeContainer((sock, p, at) => {
      if (at.packet === 2) sock.write(getBody(100));
      else if (at.packet === 3) sock.write(getBody(1000));
      else if (at.packet === 4) sock.write(getBody(1000));
      else if (at.packet === 5) sock.write(Buffer.concat([headers200, end(true)]));
    });
    const t = transportTo(fake.port);
    await readAll(await t.forward(request({ method: 'POST', body: bufferBody(body) })));
    // forward request, first chunk (all 300 bytes fit), then 100 asked → nothing left → empty packets.
    const [, first, second, third] = fake.packets;
    expect(first.readUInt16BE(0)).toBe(300);
    expect(second.length).toBe(0);
    expect(third.length).toBe(0);
  });

  it('sends a chunked body only when asked, in pieces of the asked size, ending with an empty packet', async () => {
    const fake = await fakeContainer((sock, p, at) => {
      if (isForward(p) || (at.packet > 1 && p.length > 0)) sock.write(getBody(4));
      else sock.write(Buffer.concat([headers200, end(true)]));
    });
    const t = transportTo(fake.port);
    const res = await t.forward(request({ method: 'POST', body: bufferBody(Buffer.from('0123456789'), true) }));
    await readAll(res);
    const chunks = fake.packets.slice(1).map((p) => (p.length === 0 ? '' : p.subarray(2).toString()));
    expect(chunks).toEqual(['0123', '4567', '89', '']);
    expect(t.connected).toBe(1);
  });

  it('turns a failing client body into client_error and closes the connection', async () => {
    const fake = await fakeContainer((sock, p) => {
      if (isForward(p)) sock.write(getBody(8000));
    });
    const t = transportTo(fake.port);
    const broken = streamBody(
      () =>
        new Readable({
          read() {
            this.destroy(new Error('client aborted'));
          },
        }),
      -1,
    );
    const err = await rejection(t.forward(request({ method: 'POST', body: broken })));
    expect(err.kind).toBe('client_error');
    expect(t.connected).toBe(0);
  });

  it('never sends a request on a connection that broke right behind its CPong', async () => {
    const fake = await fakeContainer((sock, p) => {
      if (p[0] === 0x0a) sock.write(Buffer.concat([containerPacket([0x09]), containerPacket([0x09])]));
    });
    const t = transportTo(fake.port, { ping: { prepostTimeoutMs: 1000 } });
    const err = await rejection(t.forward(request()));
    expect([err.kind, err.nothingSent]).toEqual(['connect', true]);
    expect(fake.packets.filter(isForward).length).toBe(0);
  });

  it('sends nothing when the client leaves while the connection is being prepared', async () => {
    const fake = await fakeContainer((sock, p) => {
      if (p[0] === 0x0a) setTimeout(() => sock.write(containerPacket([0x09])), 50);
    });
    const t = transportTo(fake.port, { ping: { prepostTimeoutMs: 1000 } });
    const ac = new AbortController();
    const pending = t.forward(request({ signal: ac.signal }));
    setTimeout(() => ac.abort(), 10);
    const err = await rejection(pending);
    expect(err.kind).toBe('client_error');
    expect(err.nothingSent).toBe(true);
    expect(fake.packets.filter(isForward).length).toBe(0);
    expect(t.connected).toBe(0);
  });

  it('fails requests in flight when the transport is closed', async () => {
    const fake = await fakeContainer(() => {});
    const t = transportTo(fake.port);
    const pending = t.forward(request());
    await until(() => fake.packets.length === 1, 'the request to arrive');
    await t.close();
    expect((await rejection(pending)).kind).toBe('read');
    expect(t.connected).toBe(0);
  });

  it('reports connect failures as connect errors with nothing sent', async () => {
    const fake = await fakeContainer(serveHello);
    const port = fake.port;
    await fake.close();
    const err = await rejection(transportTo(port).forward(request()));
    expect([err.kind, err.nothingSent]).toEqual(['connect', true]);
  });

  it('stops waiting for a pooled connection as soon as the client goes away', async () => {
    const held: Socket[] = [];
    const fake = await fakeContainer((sock, p) => {
      if (isForward(p)) held.push(sock);
    });
    // An acquire timeout far beyond the test's own: only the abort can end the wait.
    const t = transportTo(fake.port, { connectionPoolSize: 1, connectionAcquireTimeoutMs: 600_000 });
    const first = t.forward(request());
    await until(() => held.length === 1, 'the first request to hold the connection');
    const ac = new AbortController();
    const waiting = t.forward(request({ signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const err = await rejection(waiting);
    expect([err.kind, err.nothingSent]).toEqual(['client_error', true]);
    // The connection the first request frees goes back to the pool, not to the request that left.
    held[0].write(Buffer.concat([headers200, bodyChunk('hello'), end(true)]));
    expect((await readAll(await first)).toString()).toBe('hello');
    expect([t.connected, t.busy]).toEqual([1, 0]);
    expect(fake.packets.filter(isForward).length).toBe(1);
  }, 10_000);

  it('fails fast as busy when connection_acquire_timeout is 0 and the pool is full', async () => {
    const fake = await fakeContainer(() => {});
    const t = transportTo(fake.port, { connectionPoolSize: 1, connectionAcquireTimeoutMs: 0 });
    const ac = new AbortController();
    const hanging = t.forward(request({ signal: ac.signal })).catch((e: unknown) => e);
    await until(() => t.busy === 1, 'the first request to hold the connection');
    expect((await rejection(t.forward(request()))).kind).toBe('busy');
    ac.abort();
    expect(((await hanging) as TransportError).kind).toBe('client_error');
  });
});
