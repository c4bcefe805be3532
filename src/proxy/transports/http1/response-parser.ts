/**
 * HTTP/1.1 replies parsed by Node's own parser: llhttp (C), the one behind node:http, taken from
 * `_http_common` (undocumented, but exported by every Node line we run on: 20 and 24; the shape is
 * checked at load). It frames bodies (Content-Length, chunked, close-delimited), refuses what makes
 * a reply ambiguous (Content-Length with Transfer-Encoding, two Content-Lengths, bad characters,
 * a head over the --max-http-header-size limit) and hands the head over as the flat
 * [name, value, …] list the data path relays. This module is the only one that touches it.
 *
 * The usual reply — a head that arrived whole, status 2xx–5xx, plain tokens and values, one
 * Content-Length, HTTP/1.1 — is read here in JavaScript instead (plainReply): crossing into llhttp
 * and back four times per reply (message begin, head, body, end), with the strings and a copy of
 * the body made in C++, was the largest item of the transport's CPU per request. That fast path
 * never refuses anything: whatever it is not sure of (a head in pieces, chunked, 1xx, 204/304,
 * HEAD, HTTP/1.0, a Connection other than keep-alive, any questionable character) goes to llhttp unread, and
 * test/proxy/transports/http1-parser.test.ts holds the two to the same events on every split.
 */
import http from 'node:http';
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

/**
 * A head the fast path may read: "HTTP/1.1", a 2xx–5xx status, maybe a reason of plain characters,
 * and header lines each a token, a colon and a value of characters llhttp takes as they are (HTAB,
 * SP, VCHAR, obs-text). One pass over the whole head; nothing in it can backtrack.
 */
const PLAIN_HEAD = /^HTTP\/1\.1 [2-5]\d\d(?: [\x20-\x7e]*)?(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*)+$/;
const DIGITS = /^\d{1,15}$/;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/**
 * Heads up to half Node's limit (--max-http-header-size) only: one near the limit is llhttp's to
 * take or refuse, by its own count.
 */
const MAX_HEAD = http.maxHeaderSize >> 1;

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
  /** llhttp sits between two replies (it saw none of the current one): the fast path may read it. */
  private nativeIdle = true;
  /** Body bytes still owed by a reply the fast path read the head of; -1 when none is being read. */
  private fastLeft = -1;
  /** Replies whose head the fast path read (the tests check that it does). */
  fastReplies = 0;

  /** `fastPath` false: every byte through llhttp (the tests compare the two). */
  constructor(private readonly fastPath = true) {
    const p = new Parser();
    // 0 = Node's limit (--max-http-header-size, 16 KiB by default); no lenient flags.
    p.initialize(Parser.RESPONSE, {}, 0, 0);
    // A reply starting while no request waits for one (bytes after the previous reply's end, which
    // would otherwise be taken as the next request's reply) breaks the connection at its first byte.
    p[K_MESSAGE_BEGIN] = () => {
      this.nativeIdle = false;
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
      this.nativeIdle = true;
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
    for (;;) {
      if (this.fastLeft >= 0) {
        data = this.fastBody(data);
      } else if (this.fastPath && this.nativeIdle && this.events !== null && !this.headOnly) {
        const rest = this.plainReply(data);
        if (rest === data) break;
        data = rest;
      } else break;
      if (data.length === 0) return null;
    }
    return this.toNative(data);
  }

  private toNative(data: Buffer): ParseError | null {
    try {
      const r = this.native.execute(data);
      return typeof r === 'number' ? null : r;
    } catch (err) {
      return err as ParseError;
    }
  }

  /**
   * A whole plain reply head at the start of `data`: handed over, with as much of its body as came
   * along; what follows the reply is returned (for llhttp, which refuses it: nobody asked for it).
   * Anything less plain: `data` untouched, for llhttp.
   */
  private plainReply(data: Buffer): Buffer {
    const end = data.indexOf(HEAD_END);
    if (end < 0 || end + 4 > MAX_HEAD) return data;
    const head = data.toString('latin1', 0, end);
    if (!PLAIN_HEAD.test(head)) return data;
    const status = (head.charCodeAt(9) - 48) * 100 + (head.charCodeAt(10) - 48) * 10 + (head.charCodeAt(11) - 48);
    if (status === 204 || status === 304) return data;
    const eol = head.indexOf('\r\n');
    // A reason with blanks around it is llhttp's to trim.
    const reason = eol > 13 ? head.slice(13, eol) : '';
    if (eol === 13 || (reason !== '' && (reason.charCodeAt(0) === 32 || reason.charCodeAt(reason.length - 1) === 32))) return data;
    const headers: string[] = [];
    let length = -1;
    for (let at = eol + 2; at < head.length; ) {
      let next = head.indexOf('\r\n', at);
      if (next < 0) next = head.length;
      const colon = head.indexOf(':', at);
      const name = head.slice(at, colon);
      let from = colon + 1;
      let to = next;
      while (from < to && (head.charCodeAt(from) === 32 || head.charCodeAt(from) === 9)) from++;
      while (to > from && (head.charCodeAt(to - 1) === 32 || head.charCodeAt(to - 1) === 9)) to--;
      const value = head.slice(from, to);
      const n = name.length;
      if (n === 14 && name.toLowerCase() === 'content-length') {
        if (length >= 0 || !DIGITS.test(value)) return data;
        length = Number(value);
      } else if ((n === 10 && name.toLowerCase() === 'connection') || (n === 16 && name.toLowerCase() === 'proxy-connection')) {
        // Only the usual keep-alive: llhttp refuses whatever follows a reply that closes.
        if (value.length !== 10 || value.toLowerCase() !== 'keep-alive') return data;
      } else if ((n === 17 && name.toLowerCase() === 'transfer-encoding') || (n === 7 && name.toLowerCase() === 'upgrade')) {
        return data;
      }
      headers.push(name, value);
      at = next + 2;
    }
    if (length < 0) return data;
    const ev = this.events!;
    this.inBody = true;
    this.fastLeft = length;
    this.fastReplies++;
    ev.head(status, reason, headers, true);
    return this.fastBody(data.subarray(end + 4));
  }

  /** Body bytes of a reply the fast path is reading; what follows its end is returned. */
  private fastBody(data: Buffer): Buffer {
    const left = this.fastLeft;
    const ev = this.events;
    if (ev === null) {
      // The reply's user gave up (the connection is being destroyed): nothing more to hand over.
      this.fastLeft = -1;
      return data.subarray(data.length);
    }
    if (left > 0 && data.length > 0) {
      const chunk = data.length <= left ? data : data.subarray(0, left);
      this.fastLeft = left - chunk.length;
      ev.body(chunk);
      if (this.events !== ev) {
        this.fastLeft = -1;
        return data.subarray(data.length);
      }
      data = data.subarray(chunk.length);
    }
    if (this.fastLeft > 0) return data;
    this.fastLeft = -1;
    this.inBody = false;
    this.events = null;
    ev.complete();
    return data;
  }

  /** The connection's end: completes a close-delimited body, or says the reply was cut short. */
  finish(): ParseError | null {
    // A Content-Length body the fast path was reading is simply cut short (the connection says so).
    if (this.fastLeft >= 0) return null;
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
    this.fastLeft = -1;
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
