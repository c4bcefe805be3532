/** Builders for the AJP13 transport tests: a member config, a forward request, bodies, reply readers, waits. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import type { MemberConfig, PingConfig } from '../../../../src/config/model.js';
import { TransportError, type BackendResponse, type ForwardRequest, type ReplyStream, type RequestBody } from '../../../../src/proxy/transport.js';
import { memberConfig } from '../../../routing/fixtures.js';

/** An ajp13 member on 127.0.0.1 with a small pool; `ping` fields override the defaults one by one. */
export function member(over: Partial<Omit<MemberConfig, 'ping'>> & { ping?: Partial<PingConfig> } = {}): MemberConfig {
  const { ping, ...rest } = over;
  const m = memberConfig(rest.name ?? 'n1', {
    host: '127.0.0.1',
    socketConnectTimeoutMs: 2000,
    connectionPoolSize: 4,
    connectionPoolMinsize: 0,
    ...rest,
  });
  return { ...m, ping: { ...m.ping, ...ping } };
}

/** A body of known bytes (length = byte count, or -1 for "chunked"). */
export function bufferBody(data: Buffer, chunked = false): RequestBody {
  return streamBody(() => Readable.from([data]), chunked ? -1 : data.length);
}

export function streamBody(make: () => Readable, length: number): RequestBody {
  return { length, open: make, bytesRead: 0 };
}

export const noBody: RequestBody = { length: 0, open: () => Readable.from([]), bytesRead: 0 };

/** `total` pseudo-random bytes in 64 KiB pieces, generated lazily; sha256 known up front. */
export function generatedBody(total: number, chunked = false): { body: RequestBody; sha256: string } {
  const piece = Buffer.alloc(65536);
  for (let i = 0; i < piece.length; i++) piece[i] = (i * 7 + 13) & 0xff;
  const hash = createHash('sha256');
  for (let left = total; left > 0; left -= piece.length) hash.update(piece.subarray(0, Math.min(left, piece.length)));
  const make = (): Readable =>
    Readable.from(
      (function* () {
        for (let left = total; left > 0; left -= piece.length) yield Buffer.from(piece.subarray(0, Math.min(left, piece.length)));
      })(),
    );
  return { body: streamBody(make, chunked ? -1 : total), sha256: hash.digest('hex') };
}

export function request(over: Partial<ForwardRequest> = {}): ForwardRequest {
  return {
    method: 'GET',
    url: '/app/echo',
    httpVersion: '1.1',
    headers: ['host', 'example.test'],
    headersChecked: false,
    body: noBody,
    remoteAddress: '10.1.2.3',
    remotePort: 40404,
    serverName: 'example.test',
    serverPort: 8080,
    secure: false,
    tls: null,
    activation: 'ACT',
    route: '',
    replyTimeoutMs: 0,
    signal: new AbortController().signal,
    ...over,
  };
}

/**
 * The reply body as an async iterable, with backpressure as the data path applies it: the sink
 * says stop while chunks wait unread, and resumes the transport when they have been taken.
 */
export async function* replyChunks(body: ReplyStream): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let done = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    wake?.();
    wake = null;
  };
  body.start({
    data(chunk) {
      queue.push(chunk);
      poke();
      return queue.length < 4;
    },
    end() {
      done = true;
      poke();
    },
    error(err) {
      failure = err;
      poke();
    },
  });
  for (;;) {
    if (queue.length > 0) {
      const wasFull = queue.length >= 4;
      yield queue.shift()!;
      if (wasFull && queue.length < 4) body.resume();
      continue;
    }
    if (failure) throw failure;
    if (done) return;
    await new Promise<void>((r) => (wake = r));
  }
}

export async function readAll(res: BackendResponse): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of replyChunks(res.body)) parts.push(c);
  return Buffer.concat(parts);
}

export async function readJson(res: BackendResponse): Promise<Record<string, unknown>> {
  return JSON.parse((await readAll(res)).toString('utf8')) as Record<string, unknown>;
}

/** All values of a response header (case-insensitive). */
export function headerValues(res: BackendResponse, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < res.headers.length; i += 2) if (res.headers[i].toLowerCase() === name.toLowerCase()) out.push(res.headers[i + 1]);
  return out;
}

/** The TransportError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function rejection(p: Promise<unknown>): Promise<TransportError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransportError);
  return err as TransportError;
}

/** Polls until `cond` holds; throws after `ms`. */
export { until } from '../../../helpers/until.js';

/** An AJP string as a container writes it: length, latin1 bytes, NUL. */
export function ajpString(s: string): Buffer {
  const b = Buffer.alloc(s.length + 3);
  b.writeUInt16BE(s.length, 0);
  b.write(s, 2, 'latin1');
  return b;
}

/** One container→web-server packet ('AB', length, payload). */
export function containerPacket(...parts: (Buffer | number[])[]): Buffer {
  const payload = Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
  const head = Buffer.from([0x41, 0x42, 0, 0]);
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}
