/**
 * The bare forwarder `npm run bench` compares jkbalancer against: jkbalancer's routing job in its
 * simplest form on the same stack, so the difference between the two is what jkbalancer adds.
 * node:http server; the route after the first '.' of the JSESSIONID cookie picks a backend,
 * round-robin when there is none or it is unknown; one undici Pool per backend driven by `dispatch`
 * with a handler streaming the reply with backpressure; hop-by-hop headers dropped both ways;
 * X-Forwarded-For appended. No retries, no failover, no log, no metrics.
 *
 *   node forwarder.js route=host:port …   (prints {"port":N} once it listens; exits when stdin closes)
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const backends = process.argv.slice(2).map((arg) => {
  const [route, hostPort] = arg.split('=');
  return { route, pool: new Pool(`http://${hostPort}`) };
});
const byRoute = new Map(backends.map((b) => [b.route, b.pool]));
let next = 0;

function routeOf(cookie: string): string | undefined {
  const at = cookie.indexOf('JSESSIONID=');
  if (at < 0) return undefined;
  const end = cookie.indexOf(';', at);
  const id = cookie.slice(at + 'JSESSIONID='.length, end < 0 ? undefined : end);
  const dot = id.indexOf('.');
  return dot < 0 ? undefined : id.slice(dot + 1);
}

class ReplyHandler implements Dispatcher.DispatchHandler {
  private ended = false;
  private controller: Dispatcher.DispatchController | null = null;

  constructor(private readonly res: ServerResponse) {
    // The client gone mid-reply: stop reading from the backend (undici drops that socket).
    res.once('close', () => {
      if (!this.ended) this.controller?.abort(new Error('client went away'));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    const out: string[] = [];
    for (const name in headers) {
      if (HOP_BY_HOP.has(name)) continue;
      const v = headers[name]!;
      if (Array.isArray(v)) for (const one of v) out.push(name, one);
      else out.push(name, v);
    }
    this.res.writeHead(status, statusMessage, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.ended = true;
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.ended = true;
    if (this.res.headersSent) this.res.destroy(err);
    else this.res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
  }
}

function forward(req: IncomingMessage, res: ServerResponse): void {
  // rawHeaders, not req.headers: Node builds that object lazily, and the bare forwarder skips it.
  const raw = req.rawHeaders;
  const headers: string[] = [];
  let route: string | undefined;
  let forwardedFor = '';
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (name === 'content-length' || name === 'transfer-encoding') hasBody = true;
    if (HOP_BY_HOP.has(name)) continue;
    if (name === 'x-forwarded-for') forwardedFor += `${value}, `;
    else {
      if (name === 'cookie') route ??= routeOf(value);
      headers.push(name, value);
    }
  }
  headers.push('x-forwarded-for', forwardedFor + req.socket.remoteAddress);
  const pool = (route !== undefined && byRoute.get(route)) || backends[next++ % backends.length].pool;
  pool.dispatch({ path: req.url!, method: req.method!, headers, body: hasBody ? req : null }, new ReplyHandler(res));
}

const server = http.createServer(forward);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
// The bench holds our stdin: its end means the bench is gone, even if it was killed outright.
process.stdin.on('end', () => process.exit(0)).resume();
