import { describe, expect, it } from 'vitest';
import {
  AjpProtocolError,
  PacketSplitter,
  PacketTooLargeError,
  bodyChunkHeader,
  decodeBodyChunk,
  decodeEndResponse,
  decodeGetBodyChunk,
  decodeSendHeaders,
  encodeForwardRequest,
  type ForwardRequestFields,
} from '../../../../src/proxy/transports/ajp13/codec.js';

const base: ForwardRequestFields = {
  method: 'GET',
  protocol: 'HTTP/1.1',
  uri: '/a',
  query: null,
  remoteAddr: '1.2.3.4',
  remoteHost: '1.2.3.4',
  remotePort: 5000,
  serverName: 'h',
  serverPort: 80,
  secure: false,
  headers: [],
  route: '',
  secret: '',
  activation: '',
};

/** An AJP string as bytes: length, bytes, NUL. */
function s(v: string): number[] {
  return [v.length >> 8, v.length & 0xff, ...Buffer.from(v, 'latin1'), 0];
}

/** A test-side reader of forward-request packets, independent of the encoder. */
function parse(packet: Buffer) {
  let p = 4;
  const byte = () => packet[p++];
  const int = () => {
    const v = packet.readUInt16BE(p);
    p += 2;
    return v;
  };
  const str = (len = int()) => {
    const v = packet.toString('latin1', p, p + len);
    p += len + 1;
    return v;
  };
  expect(packet.readUInt16BE(0)).toBe(0x1234);
  expect(packet.readUInt16BE(2)).toBe(packet.length - 4);
  expect(byte()).toBe(2);
  const method = byte();
  const fields = { method, protocol: str(), uri: str(), remoteAddr: str(), remoteHost: str(), serverName: str(), serverPort: int(), ssl: byte() };
  const headers: [number | string, string][] = [];
  for (let n = int(); n > 0; n--) {
    const code = int();
    headers.push([code >> 8 === 0xa0 ? code : str(code), str()]);
  }
  const attrs: [number, string | number, string?][] = [];
  for (let code = byte(); code !== 0xff; code = byte()) {
    if (code === 0x0a) attrs.push([code, str(), str()]);
    else if (code === 0x0b) attrs.push([code, int()]);
    else attrs.push([code, str()]);
  }
  expect(p).toBe(packet.length);
  return { ...fields, headers, attrs };
}

describe('encodeForwardRequest', () => {
  it('lays out a minimal GET exactly as AJP13 specifies', () => {
    const packet = encodeForwardRequest({ ...base, headers: ['Host', 'h'], activation: 'ACT' }, 8192);
    const payload = [
      0x02, 0x02,
      ...s('HTTP/1.1'), ...s('/a'), ...s('1.2.3.4'), ...s('1.2.3.4'), ...s('h'),
      0x00, 80, 0x00,
      0x00, 0x01, 0xa0, 0x0b, ...s('h'),
      0x0a, ...s('AJP_REMOTE_PORT'), ...s('5000'),
      0x0a, ...s('JK_LB_ACTIVATION'), ...s('ACT'),
      0xff,
    ];
    expect([...packet]).toEqual([0x12, 0x34, payload.length >> 8, payload.length & 0xff, ...payload]);
  });

  it('codes known methods and stores unknown ones in the stored_method attribute', () => {
    expect(parse(encodeForwardRequest({ ...base, method: 'OPTIONS' }, 8192)).method).toBe(1);
    expect(parse(encodeForwardRequest({ ...base, method: 'POST' }, 8192)).method).toBe(4);
    expect(parse(encodeForwardRequest({ ...base, method: 'ACL' }, 8192)).method).toBe(15);
    expect(parse(encodeForwardRequest({ ...base, method: 'BASELINE-CONTROL' }, 8192)).method).toBe(26);
    expect(parse(encodeForwardRequest({ ...base, method: 'MKACTIVITY' }, 8192)).method).toBe(27);
    const patch = parse(encodeForwardRequest({ ...base, method: 'PATCH' }, 8192));
    expect(patch.method).toBe(0xff);
    expect(patch.attrs).toContainEqual([0x0d, 'PATCH']);
  });

  it('sends common request headers as 0xA0xx codes whatever their case, others by name', () => {
    const h = [
      'Accept', 'a', 'accept-charset', 'b', 'Accept-Encoding', 'c', 'accept-language', 'd', 'Authorization', 'e',
      'Connection', 'f', 'Content-Type', 'g', 'Content-Length', '1', 'Cookie', 'i', 'cookie2', 'j', 'HOST', 'k',
      'pragma', 'l', 'Referer', 'm', 'User-Agent', 'n', 'X-Custom', 'o', 'Cookie', 'p',
    ];
    const parsed = parse(encodeForwardRequest({ ...base, headers: h }, 8192));
    expect(parsed.headers).toEqual([
      [0xa001, 'a'], [0xa002, 'b'], [0xa003, 'c'], [0xa004, 'd'], [0xa005, 'e'], [0xa006, 'f'], [0xa007, 'g'],
      [0xa008, '1'], [0xa009, 'i'], [0xa00a, 'j'], [0xa00b, 'k'], [0xa00c, 'l'], [0xa00d, 'm'], [0xa00e, 'n'],
      ['X-Custom', 'o'], [0xa009, 'p'],
    ]);
  });

  it('keeps header bytes (latin1) unchanged', () => {
    const parsed = parse(encodeForwardRequest({ ...base, headers: ['X-Name', 'caf\u00e9'] }, 8192));
    expect(parsed.headers).toEqual([['X-Name', 'caf\u00e9']]);
  });

  it('carries query, route, secret, remote port and activation as attributes', () => {
    const parsed = parse(
      encodeForwardRequest({ ...base, query: 'a=1&b', route: 'node1', secret: 's3cr3t', remotePort: 61000, activation: 'DIS' }, 8192),
    );
    expect(parsed.attrs).toEqual([
      [0x05, 'a=1&b'],
      [0x06, 'node1'],
      [0x0c, 's3cr3t'],
      [0x0a, 'AJP_REMOTE_PORT', '61000'],
      [0x0a, 'JK_LB_ACTIVATION', 'DIS'],
    ]);
  });

  it('sends an empty query string when the URL ended in "?" and none without "?"', () => {
    expect(parse(encodeForwardRequest({ ...base, query: '' }, 8192)).attrs[0]).toEqual([0x05, '']);
    expect(parse(encodeForwardRequest(base, 8192)).attrs.some((a) => a[0] === 0x05)).toBe(false);
  });

  it('sends SSL attributes only on secure requests, key size as an integer', () => {
    const tls = { cert: '-----BEGIN CERTIFICATE-----', cipher: 'TLS_AES_128_GCM_SHA256', sessionId: 'abcd', keySize: 128, protocol: 'TLSv1.3' };
    const secure = parse(encodeForwardRequest({ ...base, secure: true, tls }, 8192));
    expect(secure.ssl).toBe(1);
    expect(secure.attrs).toEqual([
      [0x07, tls.cert],
      [0x08, tls.cipher],
      [0x09, 'abcd'],
      [0x0b, 128],
      [0x0a, 'AJP_SSL_PROTOCOL', 'TLSv1.3'],
      [0x0a, 'AJP_REMOTE_PORT', '5000'],
    ]);
    const plain = parse(encodeForwardRequest({ ...base, secure: false, tls }, 8192));
    expect(plain.ssl).toBe(0);
    expect(plain.attrs).toEqual([[0x0a, 'AJP_REMOTE_PORT', '5000']]);
  });

  it('refuses a packet larger than max_packet_size and accepts one that just fits', () => {
    const empty = encodeForwardRequest({ ...base, headers: ['X-Big', ''] }, 8192).length;
    const fits = encodeForwardRequest({ ...base, headers: ['X-Big', 'x'.repeat(8192 - empty)] }, 8192);
    expect(fits.length).toBe(8192);
    expect(() => encodeForwardRequest({ ...base, headers: ['X-Big', 'x'.repeat(8192 - empty + 1)] }, 8192)).toThrow(PacketTooLargeError);
    expect(encodeForwardRequest({ ...base, headers: ['X-Big', 'x'.repeat(9000)] }, 16384).length).toBeGreaterThan(9000);
  });

  it('reuses a scratch buffer without the packets sharing memory', () => {
    const scratch = Buffer.alloc(8192);
    const a = encodeForwardRequest({ ...base, uri: '/first' }, 8192, scratch);
    const b = encodeForwardRequest({ ...base, uri: '/second' }, 8192, scratch);
    expect(parse(a).uri).toBe('/first');
    expect(parse(b).uri).toBe('/second');
  });
});

describe('request body packets', () => {
  it('frames a chunk with the packet length and its own length', () => {
    expect([...bodyChunkHeader(8186)]).toEqual([0x12, 0x34, 0x1f, 0xfc, 0x1f, 0xfa]);
  });
});

/** A container→server packet. */
function pkt(payload: number[]): Buffer {
  return Buffer.from([0x41, 0x42, payload.length >> 8, payload.length & 0xff, ...payload]);
}

describe('reply decoding', () => {
  it('decodes SEND_HEADERS with coded and named headers', () => {
    const payload = pkt([
      0x04, 0x01, 0x2e, ...s('Found'), 0x00, 0x05,
      0xa0, 0x01, ...s('text/html'),
      0xa0, 0x07, ...s('a=1'),
      0xa0, 0x07, ...s('b=2'),
      ...s('X-Thing'), ...s('yes'),
      0xa0, 0x0b, ...s('Basic'),
    ]).subarray(4);
    expect(decodeSendHeaders(payload)).toEqual({
      status: 302,
      message: 'Found',
      headers: ['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Thing', 'yes', 'WWW-Authenticate', 'Basic'],
    });
  });

  it('decodes every response header code', () => {
    const names = ['Content-Type', 'Content-Language', 'Content-Length', 'Date', 'Last-Modified', 'Location', 'Set-Cookie', 'Set-Cookie2', 'Servlet-Engine', 'Status', 'WWW-Authenticate'];
    const bytes = [0x04, 0x00, 200, 0xff, 0xff, 0x00, names.length];
    names.forEach((_, i) => bytes.push(0xa0, i + 1, ...s('v')));
    const h = decodeSendHeaders(pkt(bytes).subarray(4));
    expect(h.message).toBe('');
    expect(h.headers.filter((_, i) => i % 2 === 0)).toEqual(names);
  });

  it('rejects unknown header codes and truncated packets', () => {
    expect(() => decodeSendHeaders(pkt([0x04, 0x00, 200, ...s('OK'), 0x00, 0x01, 0xa0, 0x0c, ...s('v')]).subarray(4))).toThrow(AjpProtocolError);
    expect(() => decodeSendHeaders(pkt([0x04, 0x00, 200, ...s('OK'), 0x00, 0x02, 0xa0, 0x01, ...s('v')]).subarray(4))).toThrow(AjpProtocolError);
    expect(() => decodeSendHeaders(pkt([0x04, 0x00, 200, 0x00, 0x09, 0x41]).subarray(4))).toThrow(AjpProtocolError);
  });

  it('decodes body chunks (ignoring the trailing byte), get-body-chunk and end-response', () => {
    expect(decodeBodyChunk(pkt([0x03, 0x00, 0x03, 0x61, 0x62, 0x63, 0x00]).subarray(4)).toString()).toBe('abc');
    expect(decodeBodyChunk(pkt([0x03, 0x00, 0x00, 0x00]).subarray(4)).length).toBe(0);
    expect(() => decodeBodyChunk(pkt([0x03, 0x00, 0x09, 0x61]).subarray(4))).toThrow(AjpProtocolError);
    expect(decodeGetBodyChunk(pkt([0x06, 0x1f, 0xfa]).subarray(4))).toBe(8186);
    expect(decodeEndResponse(pkt([0x05, 0x01]).subarray(4))).toBe(true);
    expect(decodeEndResponse(pkt([0x05, 0x00]).subarray(4))).toBe(false);
  });
});

describe('PacketSplitter', () => {
  const stream = Buffer.concat([
    pkt([0x04, 0x00, 200, ...s('OK'), 0x00, 0x00]),
    pkt([0x03, 0x00, 0x02, 0x68, 0x69, 0x00]),
    pkt([0x06, 0x1f, 0xfa]),
    pkt([0x05, 0x01]),
  ]);
  const expected = [
    [0x04, 0x00, 200, ...s('OK'), 0x00, 0x00],
    [0x03, 0x00, 0x02, 0x68, 0x69, 0x00],
    [0x06, 0x1f, 0xfa],
    [0x05, 0x01],
  ];

  it('yields the same packets however the stream is cut', () => {
    for (const size of [1, 2, 3, 4, 5, 7, 11, stream.length]) {
      const sp = new PacketSplitter();
      const got: number[][] = [];
      for (let i = 0; i < stream.length; i += size) sp.push(stream.subarray(i, i + size), (p) => got.push([...p]));
      expect(got, `cut every ${size} bytes`).toEqual(expected);
    }
  });

  it('keeps payloads valid after the chunk they came from is reused', () => {
    const sp = new PacketSplitter();
    const payloads: Buffer[] = [];
    const chunk = Buffer.from(stream.subarray(0, 12));
    sp.push(chunk, (p) => payloads.push(p));
    chunk.fill(0);
    sp.push(Buffer.from(stream.subarray(12)), (p) => payloads.push(p));
    expect(payloads.map((p) => [...p])).toEqual(expected);
  });

  it('rejects a packet without the AB signature', () => {
    expect(() => new PacketSplitter().push(Buffer.from([0x12, 0x34, 0x00, 0x01, 0x09]), () => {})).toThrow(AjpProtocolError);
  });
});
