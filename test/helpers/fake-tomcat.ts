/**
 * node:http servers that behave like Tomcat instances with a jvmRoute: they issue
 * `JSESSIONID=<id>.<jvmRoute>`, keep sessions in memory, and answer which instance served.
 * Used by the data-path, status and demo tests as real backends on real sockets.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { WebSocketServer } from 'ws';

export interface FakeTomcat {
  readonly route: string;
  port: number;
  /** Requests served, by path prefix ('/app' etc. → all). */
  served: number;
  readonly sessions: Map<string, number>;
  /** Last request headers seen (lower-case names). */
  lastHeaders: http.IncomingHttpHeaders;
  /** The same as received, [name, value, …] (Node's lastHeaders joins repeated fields). */
  lastRawHeaders: string[];
  /** Stop listening and cut every open connection (a crashed backend). */
  kill(): Promise<void>;
  /** Listen again on the same port. */
  revive(): Promise<void>;
  close(): Promise<void>;
}

function sessionFromCookie(cookie: string | undefined): string | null {
  if (!cookie) return null;
  const m = /(?:^|[;,]\s*)JSESSIONID=([^;,]+)/.exec(cookie);
  return m ? m[1] : null;
}

function sessionFromPath(url: string): string | null {
  const m = /;jsessionid=([^?;/]+)/.exec(url);
  return m ? m[1] : null;
}

export async function startFakeTomcat(route: string, port = 0): Promise<FakeTomcat> {
  const sockets = new Set<Socket>();
  const sessions = new Map<string, number>();
  let server: http.Server;

  const state: FakeTomcat = {
    route,
    port,
    served: 0,
    sessions,
    lastHeaders: {},
    lastRawHeaders: [],
    async kill() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async revive() {
      await listen(state.port);
    },
    async close() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    state.served++;
    state.lastHeaders = req.headers;
    state.lastRawHeaders = req.rawHeaders;
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname.replace(/;[^/]*/g, '');

    if (p === '/app/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ instance: route, bytes, sha256: hash.digest('hex') }));
      });
      return;
    }
    if (p === '/app/download') {
      const total = Number(url.searchParams.get('bytes') ?? '0');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-instance': route });
      const pump = (): void => {
        while (sent < total) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    if (p.startsWith('/app/status/')) {
      const code = Number(p.slice('/app/status/'.length));
      res.writeHead(code, { 'content-type': 'text/plain', 'x-instance': route });
      res.end(`status ${code} from ${route}\n`);
      return;
    }
    if (p.startsWith('/app/fail-on/')) {
      // 500 from the named instance only, 200 elsewhere: for fail_on_status failover.
      const [victim, code] = p.slice('/app/fail-on/'.length).split('/');
      const status = victim === route ? Number(code ?? '500') : 200;
      res.writeHead(status, { 'content-type': 'text/plain', 'x-instance': route });
      res.end(`${status} from ${route}\n`);
      return;
    }
    if (p === '/app/slow') {
      const ms = Number(url.searchParams.get('ms') ?? '1000');
      const t = setTimeout(() => {
        if (!res.destroyed) {
          res.writeHead(200, { 'content-type': 'text/plain', 'x-instance': route });
          res.end(`slow ${route}\n`);
        }
      }, ms);
      res.on('close', () => clearTimeout(t));
      return;
    }
    if (p === '/app/die-mid-reply') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000000' });
      res.write('partial body from ' + route);
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }

    // Default: a session-aware page naming the instance, like a tiny Tomcat app.
    let id = sessionFromPath(req.url ?? '') ?? sessionFromCookie(req.headers.cookie);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (id === null || !sessions.has(id)) {
      if (url.searchParams.get('nosession') === '1') id = null;
      else {
        id = `${randomBytes(8).toString('hex').toUpperCase()}.${route}`;
        sessions.set(id, 0);
        headers['set-cookie'] = `JSESSIONID=${id}; Path=/; HttpOnly`;
      }
    }
    let hits = 0;
    if (id !== null) {
      hits = (sessions.get(id) ?? 0) + 1;
      sessions.set(id, hits);
    }
    res.writeHead(200, headers);
    res.end(
      JSON.stringify({
        instance: route,
        session: id,
        hits,
        method: req.method,
        url: req.url,
        activation: req.headers['x-jk-lb-activation'] ?? null,
        route: req.headers['x-jk-route'] ?? null,
        forwardedFor: req.headers['x-forwarded-for'] ?? null,
      }),
    );
  }

  async function listen(p: number): Promise<void> {
    server = http.createServer({ keepAliveTimeout: 60_000 }, handle);
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      state.lastHeaders = req.headers;
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data) => ws.send(`${route}:${data.toString()}`));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => resolve());
    });
    state.port = (server.address() as AddressInfo).port;
  }

  await listen(port);
  return state;
}

/** Fake Tomcats named by route, started before this test file's tests and closed after them. */
export function fakeTomcatsForFile(routes: readonly string[]): Record<string, FakeTomcat> {
  const backends: Record<string, FakeTomcat> = {};
  beforeAll(async () => {
    for (const r of routes) backends[r] = await startFakeTomcat(r);
  });
  afterAll(async () => {
    for (const b of Object.values(backends)) await b.close();
  });
  return backends;
}

/** Route → port of running fake Tomcats, the shape httpFarm() takes. */
export function portsOf(backends: Record<string, FakeTomcat>): Record<string, number> {
  return Object.fromEntries(Object.entries(backends).map(([r, b]) => [r, b.port]));
}
