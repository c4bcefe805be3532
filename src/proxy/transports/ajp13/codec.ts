/**
 * AJP13 packet codec: pure functions and a stream splitter, no sockets.
 * Strings travel as latin1 so the bytes Node received from the client (which it exposes as latin1
 * strings) reach Tomcat unchanged, and the bytes Tomcat sends reach the client unchanged.
 */
import type { TlsFacts } from '../../transport.js';
import * as P from './protocol.js';

/** Everything a forward-request packet carries. */
export interface ForwardRequestFields {
  readonly method: string;
  /** e.g. 'HTTP/1.1' */
  readonly protocol: string;
  /** Path only (path parameters included), no query. */
  readonly uri: string;
  /** Query without '?', or null when the URL had no '?'. */
  readonly query: string | null;
  readonly remoteAddr: string;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly serverName: string;
  readonly serverPort: number;
  readonly secure: boolean;
  /** Flat [name, value, …] list as they go to Tomcat. */
  readonly headers: readonly string[];
  /** '' = not sent. */
  readonly route: string;
  /** '' = not sent. */
  readonly secret: string;
  /** JK_LB_ACTIVATION value; '' = not sent. */
  readonly activation: string;
  /** The client's TLS facts (sent as SSL attributes when `secure`; docs/ajp13.md#ssl-facts). */
  readonly tls?: TlsFacts | null;
}

/** The forward-request packet does not fit in max_packet_size. */
export class PacketTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`AJP forward request does not fit in max_packet_size ${limit}`);
    this.name = 'PacketTooLargeError';
  }
}

/** A reply packet that does not follow the protocol. */
export class AjpProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AjpProtocolError';
  }
}

/** Writes one outgoing packet into a reusable buffer, failing cleanly when it overflows. */
class PacketWriter {
  pos = P.HEADER_SIZE;
  constructor(
    private readonly buf: Buffer,
    private readonly limit: number,
  ) {}

  private room(n: number): void {
    if (this.pos + n > this.limit) throw new PacketTooLargeError(this.limit);
  }

  byte(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  int(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  string(s: string): void {
    // latin1: one byte per UTF-16 unit, so the length is known before writing.
    if (s.length >= P.NULL_STRING) throw new PacketTooLargeError(this.limit);
    this.room(s.length + 3);
    this.buf.writeUInt16BE(s.length, this.pos);
    this.buf.write(s, this.pos + 2, 'latin1');
    this.pos += s.length + 2;
    this.buf[this.pos++] = 0;
  }

  /** Fill in the header and return a copy the socket may keep. */
  finish(): Buffer {
    this.buf[0] = 0x12;
    this.buf[1] = 0x34;
    this.buf.writeUInt16BE(this.pos - P.HEADER_SIZE, 2);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/**
 * Encode a forward-request packet. `scratch` (≥ maxPacketSize bytes) may be reused across calls.
 * Throws PacketTooLargeError when the packet exceeds maxPacketSize.
 */
export function encodeForwardRequest(f: ForwardRequestFields, maxPacketSize: number, scratch?: Buffer): Buffer {
  const buf = scratch && scratch.length >= maxPacketSize ? scratch : Buffer.allocUnsafe(maxPacketSize);
  const w = new PacketWriter(buf, maxPacketSize);
  const methodCode = P.METHOD_CODES.get(f.method);
  w.byte(P.FORWARD_REQUEST);
  w.byte(methodCode ?? P.METHOD_STORED);
  w.string(f.protocol);
  w.string(f.uri);
  w.string(f.remoteAddr);
  w.string(f.remoteHost);
  w.string(f.serverName);
  w.int(f.serverPort);
  w.byte(f.secure ? 1 : 0);

  const h = f.headers;
  w.int(h.length >> 1);
  for (let i = 0; i + 1 < h.length; i += 2) {
    const code = P.REQUEST_HEADER_CODES.get(h[i].toLowerCase());
    if (code !== undefined) w.int(code);
    else w.string(h[i]);
    w.string(h[i + 1]);
  }

  if (methodCode === undefined) {
    w.byte(P.ATTR_STORED_METHOD);
    w.string(f.method);
  }
  if (f.query !== null) {
    w.byte(P.ATTR_QUERY_STRING);
    w.string(f.query);
  }
  if (f.route !== '') {
    w.byte(P.ATTR_ROUTE);
    w.string(f.route);
  }
  if (f.secure && f.tls) {
    const t = f.tls;
    if (t.cert) {
      w.byte(P.ATTR_SSL_CERT);
      w.string(t.cert);
    }
    if (t.cipher) {
      w.byte(P.ATTR_SSL_CIPHER);
      w.string(t.cipher);
    }
    if (t.sessionId) {
      w.byte(P.ATTR_SSL_SESSION);
      w.string(t.sessionId);
    }
    if (t.keySize !== undefined && t.keySize > 0) {
      w.byte(P.ATTR_SSL_KEY_SIZE);
      w.int(t.keySize);
    }
    if (t.protocol) reqAttribute(w, P.REQ_ATTR_SSL_PROTOCOL, t.protocol);
  }
  if (f.secret !== '') {
    w.byte(P.ATTR_SECRET);
    w.string(f.secret);
  }
  // AJP13 itself has no field for the client port; Tomcat takes it from this attribute.
  reqAttribute(w, P.REQ_ATTR_REMOTE_PORT, String(f.remotePort));
  if (f.activation !== '') reqAttribute(w, P.REQ_ATTR_LB_ACTIVATION, f.activation);
  w.byte(P.ATTRS_DONE);
  return w.finish();
}

function reqAttribute(w: PacketWriter, name: string, value: string): void {
  w.byte(P.ATTR_REQ_ATTRIBUTE);
  w.string(name);
  w.string(value);
}

/** The 6 bytes in front of a request-body chunk of `n` bytes. */
export function bodyChunkHeader(n: number): Buffer {
  const b = Buffer.allocUnsafe(P.BODY_HEADER_SIZE);
  b[0] = 0x12;
  b[1] = 0x34;
  b.writeUInt16BE(n + 2, 2);
  b.writeUInt16BE(n, 4);
  return b;
}

/** A body packet with no data: end of the request body. */
export const EMPTY_BODY_PACKET: Buffer = Buffer.from([0x12, 0x34, 0x00, 0x00]);
export const CPING_PACKET: Buffer = Buffer.from([0x12, 0x34, 0x00, 0x01, P.CPING]);

/**
 * Cuts the container's byte stream into packet payloads (prefix code first). A payload is a view
 * of the socket's own chunk when the packet lies inside it, or a fresh buffer when it straddled
 * chunks, so a payload stays valid after the callback returns.
 */
export class PacketSplitter {
  private partial: Buffer | null = null;
  private partialLen = 0;
  private readonly head = Buffer.alloc(P.HEADER_SIZE);
  private headLen = 0;

  /** Throws AjpProtocolError on a bad signature. */
  push(chunk: Buffer, onPacket: (payload: Buffer) => void): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.partial !== null) {
        const n = Math.min(this.partial.length - this.partialLen, end - pos);
        chunk.copy(this.partial, this.partialLen, pos, pos + n);
        this.partialLen += n;
        pos += n;
        if (this.partialLen === this.partial.length) {
          const payload = this.partial;
          this.partial = null;
          onPacket(payload);
        }
        continue;
      }
      let len: number;
      if (this.headLen > 0 || end - pos < P.HEADER_SIZE) {
        const n = Math.min(P.HEADER_SIZE - this.headLen, end - pos);
        chunk.copy(this.head, this.headLen, pos, pos + n);
        this.headLen += n;
        pos += n;
        if (this.headLen < P.HEADER_SIZE) return;
        this.headLen = 0;
        len = this.checkHeader(this.head, 0);
      } else {
        len = this.checkHeader(chunk, pos);
        pos += P.HEADER_SIZE;
      }
      if (len === 0) throw new AjpProtocolError('empty AJP reply packet');
      if (end - pos >= len) {
        onPacket(chunk.subarray(pos, pos + len));
        pos += len;
      } else {
        this.partial = Buffer.allocUnsafe(len);
        this.partialLen = 0;
      }
    }
  }

  private checkHeader(b: Buffer, at: number): number {
    if (b[at] !== 0x41 || b[at + 1] !== 0x42) {
      throw new AjpProtocolError(`bad AJP reply signature 0x${b.readUInt16BE(at).toString(16)}`);
    }
    return b.readUInt16BE(at + 2);
  }
}

export interface SendHeaders {
  readonly status: number;
  readonly message: string;
  readonly headers: string[];
}

/** Reads the fields of one reply payload with bounds checks. */
class PayloadReader {
  pos = 1; // after the prefix code
  constructor(private readonly b: Buffer) {}

  int(): number {
    if (this.pos + 2 > this.b.length) throw new AjpProtocolError('truncated AJP reply packet');
    const v = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads a string whose length was already read. */
  stringOf(len: number): string {
    if (len === P.NULL_STRING) return '';
    if (this.pos + len + 1 > this.b.length) throw new AjpProtocolError('truncated AJP reply string');
    const s = this.b.toString('latin1', this.pos, this.pos + len);
    this.pos += len + 1; // skip the NUL
    return s;
  }
}

export function decodeSendHeaders(payload: Buffer): SendHeaders {
  const r = new PayloadReader(payload);
  const status = r.int();
  const message = r.stringOf(r.int());
  const count = r.int();
  const headers: string[] = new Array(count * 2);
  for (let i = 0; i < count; i++) {
    const n = r.int();
    let name: string;
    if (n >> 8 === 0xa0) {
      const known = P.RESPONSE_HEADER_NAMES[(n & 0xff) - 1];
      if (known === undefined) throw new AjpProtocolError(`unknown AJP response header code 0x${n.toString(16)}`);
      name = known;
    } else {
      name = r.stringOf(n);
    }
    headers[2 * i] = name;
    headers[2 * i + 1] = r.stringOf(r.int());
  }
  if (status < 100 || status > 999) throw new AjpProtocolError(`bad AJP reply status ${status}`);
  return { status, message, headers };
}

/** SEND_BODY_CHUNK data (a view of the payload). */
export function decodeBodyChunk(payload: Buffer): Buffer {
  if (payload.length < 3) throw new AjpProtocolError('truncated AJP body chunk');
  const len = payload.readUInt16BE(1);
  if (3 + len > payload.length) throw new AjpProtocolError('AJP body chunk longer than its packet');
  return payload.subarray(3, 3 + len);
}

/** GET_BODY_CHUNK: how many bytes the container asks for. */
export function decodeGetBodyChunk(payload: Buffer): number {
  if (payload.length < 3) throw new AjpProtocolError('truncated AJP get-body-chunk');
  return payload.readUInt16BE(1);
}

/** END_RESPONSE: may the connection carry another request? */
export function decodeEndResponse(payload: Buffer): boolean {
  if (payload.length < 2) throw new AjpProtocolError('truncated AJP end-response');
  return payload[1] === 1;
}
