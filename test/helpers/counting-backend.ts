/**
 * A node:http backend that counts what a leak check needs: open connections and requests still in
 * progress (received, reply not finished, socket still open). Routes, all answering with an
 * `x-instance` header naming the backend:
 *   /app/echo      reads the whole request body, then answers {instance, bytes}
 *   /app/slow?ms=N answers after N ms (the body, if any, is read first)
 *   /app/big?bytes=N streams N bytes in 16 KiB writes with backpressure
 *   anything else  answers {instance, url}
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface CountingBackend {
  readonly route: string;
  readonly port: number;
  /** Requests received since start. */
  readonly received: number;
  /** Requests whose reply has not finished and whose connection is still open. */
  readonly inFlight: number;
  /** TCP connections open on this backend (idle keep-alive ones included). */
  readonly openConnections: number;
  close(): Promise<void>;
}

export async function startCountingBackend(route: string): Promise<CountingBackend> {
  const sockets = new Set<Socket>();
  let received = 0;
  let inFlight = 0;

  function reply(res: ServerResponse, body: object): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-instance': route });
    res.end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    received++;
    inFlight++;
    res.on('close', () => inFlight--);
    req.on('error', () => {}); // the balancer aborting an upload is expected here
    const url = new URL(req.url ?? '/', 'http://backend');
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      if (url.pathname === '/app/slow') {
        const t = setTimeout(() => reply(res, { instance: route, bytes }), Number(url.searchParams.get('ms') ?? '100'));
        res.on('close', () => clearTimeout(t));
        return;
      }
      if (url.pathname === '/app/big') {
        const total = Number(url.searchParams.get('bytes') ?? '1048576');
        const chunk = Buffer.alloc(16 * 1024, 0x62);
        let sent = 0;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total, 'x-instance': route });
        const pump = (): void => {
          while (sent < total && !res.destroyed) {
            const n = Math.min(chunk.length, total - sent);
            sent += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          if (!res.destroyed) res.end();
        };
        pump();
        return;
      }
      reply(res, url.pathname === '/app/echo' ? { instance: route, bytes } : { instance: route, url: req.url });
    });
  }

  // Idle keep-alive connections stay open for the whole test: only the balancer's pool closes them.
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handle);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    route,
    port,
    get received() {
      return received;
    },
    get inFlight() {
      return inFlight;
    },
    get openConnections() {
      return sockets.size;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
