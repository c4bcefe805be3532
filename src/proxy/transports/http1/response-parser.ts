/**
 * HTTP/1.1 replies parsed by Node's own parser: llhttp (C), the one behind node:http, taken from
 * `_http_common` (undocumented, but exported by every Node line we run on: 20 and 24; the shape is
 * checked at load). It frames bodies (Content-Length, chunked, close-delimited), refuses what makes
 * a reply ambiguous (Content-Length with Transfer-Encoding, two Content-Lengths, bad characters,
 * a head over the --max-http-header-size limit) and hands the head over as the flat
 * [name, value, …] list the data path relays. This module is the only one that touches it.
 */
import { createRequire } from 'node:module';

/** The parts of llhttp's binding used here. */
interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  [callback: number]: unknown;
}

interface NativeParserClass {
  new (): NativeParser;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
}

const HTTPParser = (createRequire(import.meta.url)('_http_common') as { HTTPParser?: NativeParserClass }).HTTPParser;
if (typeof HTTPParser !== 'function' || typeof HTTPParser.RESPONSE !== 'number' || typeof HTTPParser.kOnMessageBegin !== 'number' || typeof HTTPParser.kOnHeadersComplete !== 'number') {
  throw new Error(`this Node (${process.version}) does not offer the HTTP parser jkbalancer's http members use (_http_common.HTTPParser)`);
}
const Parser = HTTPParser;
const K_MESSAGE_BEGIN = Parser.kOnMessageBegin | 0;
const K_HEADERS = Parser.kOnHeaders | 0;
const K_HEADERS_COMPLETE = Parser.kOnHeadersComplete | 0;
const K_BODY = Parser.kOnBody | 0;
const K_MESSAGE_COMPLETE = Parser.kOnMessageComplete | 0;

/** What a reply's parts go to, in order: head (after any 1xx, which are dropped), body chunks, end. */
export interface ReplyEvents {
  /** `headers` flat; `keepAlive`: the connection may carry another request after this reply. */
  head(status: number, statusText: string, headers: string[], keepAlive: boolean): void;
  body(chunk: Buffer): void;
  complete(): void;
}

/** llhttp's error for a reply it cannot frame, e.g. code HPE_INVALID_HEADER_TOKEN. */
export interface ParseError extends Error {
  readonly code?: string;
  readonly reason?: string;
}

/**
 * One connection's reply parser; replies follow each other on it (keep-alive). `expect()` before
 * each request says what comes back: the events, and whether it answers a HEAD (no body follows).
 */
export class ResponseParser {
  private readonly native: NativeParser;
  private events: ReplyEvents | null = null;
  private headOnly = false;
  /** Header pairs llhttp delivered in pieces (more than 32 of them, or a head over several reads). */
  private pending: string[] | null = null;
  private inBody = false;

  constructor() {
    const p = new Parser();
    // 0 = Node's limit (--max-http-header-size, 16 KiB by default); no lenient flags.
    p.initialize(Parser.RESPONSE, {}, 0, 0);
    // A reply starting while no request waits for one (bytes after the previous reply's end, which
    // would otherwise be taken as the next request's reply) breaks the connection at its first byte.
    p[K_MESSAGE_BEGIN] = () => {
      if (this.events === null) throw new UnexpectedReply('a reply nobody asked for');
    };
    p[K_HEADERS] = (headers: string[]) => {
      // After the head, these are a chunked body's trailers: not relayed.
      if (!this.inBody) this.pending = this.pending === null ? headers : this.pending.concat(headers);
    };
    p[K_HEADERS_COMPLETE] = (_maj: number, _min: number, headers: string[] | undefined, _m: unknown, _u: unknown, status: number, statusText: string, upgrade: boolean, keepAlive: boolean) => {
      let all = headers;
      if (this.pending !== null) {
        all = headers === undefined ? this.pending : this.pending.concat(headers);
        this.pending = null;
      }
      const ev = this.events;
      if (ev === null) throw new UnexpectedReply('a reply nobody asked for');
      // We never ask for an upgrade (WebSockets take their own path: websocket.ts).
      if (upgrade || status === 101) throw new UnexpectedReply('a protocol switch nobody asked for');
      // Other 1xx (103 Early Hints, a stray 100): informational, the real reply follows.
      if (status < 200) return 0;
      this.inBody = true;
      ev.head(status, statusText ?? '', all ?? [], keepAlive);
      // 1: the reply to a HEAD has a head only, whatever its Content-Length says.
      return this.headOnly ? 1 : 0;
    };
    p[K_BODY] = (chunk: Buffer) => this.events?.body(chunk);
    p[K_MESSAGE_COMPLETE] = () => {
      const ev = this.events;
      // The end of a 1xx: the reply itself is still to come.
      if (!this.inBody) return;
      this.inBody = false;
      this.events = null;
      ev?.complete();
    };
    this.native = p;
  }

  /** The next reply on this connection answers a request; `headOnly` for HEAD. */
  expect(events: ReplyEvents, headOnly: boolean): void {
    this.events = events;
    this.headOnly = headOnly;
  }

  /** Bytes from the connection; a ParseError when they are not a well-formed reply. */
  execute(data: Buffer): ParseError | null {
    try {
      const r = this.native.execute(data);
      return typeof r === 'number' ? null : r;
    } catch (err) {
      return err as ParseError;
    }
  }

  /** The connection's end: completes a close-delimited body, or says the reply was cut short. */
  finish(): ParseError | null {
    try {
      const r = this.native.finish();
      return r instanceof Error ? r : null;
    } catch (err) {
      return err as ParseError;
    }
  }

  /** Frees the native parser; never from inside one of its callbacks (after them, on a later turn). */
  close(): void {
    this.events = null;
    setImmediate(closeNative, this.native);
  }
}

function closeNative(p: NativeParser): void {
  p.close();
}

/** Bytes the backend sent without being asked. */
class UnexpectedReply extends Error {
  readonly code = 'HPE_UNEXPECTED_REPLY';
}
