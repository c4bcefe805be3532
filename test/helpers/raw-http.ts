/**
 * A raw TCP HTTP/1.1 client for hostile-client tests: writes exactly the bytes it is given
 * (malformed, partial, pipelined) and parses whatever comes back, response by response.
 */
import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

type BodyMode = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * Incremental parser of a stream of HTTP/1.1 responses. `methods` are the request methods in the
 * order the requests were written (a HEAD reply has no body). 1xx interim replies are skipped.
 */
export class ResponseParser {
  readonly responses: RawResponse[] = [];
  /** Bytes of a response that has begun but not finished (0 between responses). */
  partial = 0;
  /** Set when the bytes are not HTTP: parsing stops there. */
  error: string | null = null;
  private buf: Buffer = Buffer.alloc(0);
  /** The first bytes received, quoted in `error` so a framing problem can be seen. */
  private seen: Buffer = Buffer.alloc(0);
  private head: { status: number; headers: Record<string, string> } | null = null;
  private mode: BodyMode = { kind: 'none' };
  private bodyParts: Buffer[] = [];

  constructor(private readonly methods: readonly string[]) {}

  push(chunk: Buffer): void {
    if (this.seen.length < 1024) this.seen = Buffer.concat([this.seen, chunk.subarray(0, 1024 - this.seen.length)]);
    if (this.error !== null) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.parse();
  }

  /** The connection closed: a body delimited by the close is complete. */
  end(): void {
    if (this.error === null && this.head !== null && this.mode.kind === 'close') {
      this.bodyParts.push(this.buf);
      this.buf = Buffer.alloc(0);
      this.finish();
    }
  }

  private parse(): void {
    for (;;) {
      if (this.head === null) {
        const at = this.buf.indexOf(CRLF2);
        if (at < 0) {
          this.partial = this.buf.length;
          return;
        }
        const lines = this.buf.subarray(0, at).toString('latin1').split('\r\n');
        this.buf = this.buf.subarray(at + 4);
        const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
        if (!m) {
          this.error = `not an HTTP status line: ${JSON.stringify(lines[0].slice(0, 80))}; the connection began ${JSON.stringify(this.seen.toString('latin1'))}`;
          return;
        }
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon <= 0) {
            this.error = `bad response header line: ${JSON.stringify(line.slice(0, 80))}`;
            return;
          }
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
        }
        const status = Number(m[1]);
        if (status >= 100 && status < 200 && status !== 101) continue; // interim reply
        this.head = { status, headers };
        this.bodyParts = [];
        const method = this.methods[this.responses.length] ?? 'GET';
        if (method === 'HEAD' || status === 204 || status === 304) this.mode = { kind: 'none' };
        else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) this.mode = { kind: 'chunked' };
        else if (headers['content-length'] !== undefined) this.mode = { kind: 'length', left: Number(headers['content-length']) };
        else this.mode = { kind: 'close' };
      }
      this.partial = 1 + this.buf.length;
      if (!this.parseBody()) return;
      this.finish();
    }
  }

  /** Consumes body bytes; true once the body is complete. */
  private parseBody(): boolean {
    const mode = this.mode;
    switch (mode.kind) {
      case 'none':
        return true;
      case 'close':
        return false;
      case 'length': {
        const n = Math.min(mode.left, this.buf.length);
        this.bodyParts.push(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        mode.left -= n;
        return mode.left === 0;
      }
      case 'chunked':
        for (;;) {
          const eol = this.buf.indexOf('\r\n');
          if (eol < 0) return false;
          const size = parseInt(this.buf.subarray(0, eol).toString('latin1'), 16);
          if (!Number.isFinite(size) || size < 0) {
            this.error = 'bad chunk size in a response';
            return false;
          }
          if (size === 0) {
            const end = this.buf.indexOf(CRLF2, eol);
            if (end < 0) return false; // trailers not complete yet
            this.buf = this.buf.subarray(end + 4);
            return true;
          }
          if (this.buf.length < eol + 2 + size + 2) return false;
          this.bodyParts.push(this.buf.subarray(eol + 2, eol + 2 + size));
          this.buf = this.buf.subarray(eol + 2 + size + 2);
        }
    }
  }

  private finish(): void {
    const head = this.head!;
    this.responses.push({ status: head.status, headers: head.headers, body: Buffer.concat(this.bodyParts) });
    this.head = null;
    this.partial = this.buf.length;
  }
}

/** One client connection: raw writes, parsed replies, and a way to wait for either. */
export class RawClient {
  readonly parser: ResponseParser;
  /** The connection closed (either side). */
  closed = false;
  /** The server ended or reset the connection before we did. */
  closedByPeer = false;
  private weClosed = false;
  private waiters = new Set<() => void>();

  private constructor(
    readonly socket: net.Socket,
    methods: readonly string[],
  ) {
    this.parser = new ResponseParser(methods);
    socket.on('data', (c: Buffer) => {
      this.parser.push(c);
      this.wake();
    });
    socket.on('end', () => {
      if (!this.weClosed) this.closedByPeer = true;
    });
    socket.on('error', () => {
      if (!this.weClosed) this.closedByPeer = true;
    });
    socket.on('close', () => {
      this.closed = true;
      this.parser.end();
      this.wake();
    });
  }

  static connect(port: number, methods: readonly string[]): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawClient(s, methods));
      });
      s.once('error', reject);
    });
  }

  get responses(): readonly RawResponse[] {
    return this.parser.responses;
  }

  /** Writes and waits until the bytes are handed to the OS, the socket is gone, or `ms` passed (a peer that stopped reading). */
  write(data: Buffer, ms = 5000): Promise<void> {
    if (this.closed || this.socket.destroyed || data.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.socket.write(data, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves true once `done()` holds (checked after every read and at close), false after `ms`. */
  waitFor(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        cleanup();
        resolve(true);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(done());
      }, ms);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Half-close: we send nothing more but keep reading. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.weClosed = true;
    this.socket.destroy();
  }

  /** Hang up with a TCP RST instead of a FIN. */
  reset(): void {
    this.weClosed = true;
    if (this.socket.destroyed) return;
    this.socket.resetAndDestroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
