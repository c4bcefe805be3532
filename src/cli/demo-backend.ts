/**
 * The demo's stand-in for a Tomcat instance with a jvmRoute: it issues `JSESSIONID=<random>.<route>`,
 * remembers its sessions, and answers a small HTML page (or JSON with `?format=json` / Accept) naming
 * the instance, the session id and the session's hit count.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface DemoBackend {
  readonly route: string;
  readonly port: number;
  close(): Promise<void>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function sessionId(req: http.IncomingMessage): string | null {
  const fromPath = /;jsessionid=([^?;/]+)/.exec(req.url ?? '');
  if (fromPath) return fromPath[1];
  const fromCookie = /(?:^|[;,]\s*)JSESSIONID=([^;,]+)/.exec(req.headers.cookie ?? '');
  return fromCookie ? fromCookie[1] : null;
}

export async function startDemoBackend(route: string, port: number, host = '127.0.0.1'): Promise<DemoBackend> {
  const sessions = new Map<string, number>();
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    let id = sessionId(req);
    const headers: http.OutgoingHttpHeaders = { 'cache-control': 'no-store' };
    if (id === null || !sessions.has(id)) {
      // Like Tomcat: an unknown id (e.g. from a member that was stopped) gets a fresh session here.
      id = `${randomBytes(12).toString('hex').toUpperCase()}.${route}`;
      sessions.set(id, 0);
      headers['set-cookie'] = `JSESSIONID=${id}; Path=/; HttpOnly`;
    }
    const hits = (sessions.get(id) ?? 0) + 1;
    sessions.set(id, hits);
    const activation = String(req.headers['x-jk-lb-activation'] ?? 'ACT');
    const wantsJson = (req.url ?? '').includes('format=json') || !(req.headers.accept ?? '').includes('text/html');
    if (wantsJson) {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify({ instance: route, session: id, hits, activation }));
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(route)}</title><style>body{font:16px system-ui;margin:2rem;color-scheme:light dark}b{font-size:2rem}</style></head>
<body><p>Served by <b>${escapeHtml(route)}</b></p><p>Session <code>${escapeHtml(id)}</code>, hit ${hits}${activation === 'DIS' ? ' (this member is draining)' : ''}</p>
<p>Reload: you stay on ${escapeHtml(route)}. Open a private window: you may land elsewhere.</p></body></html>\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    route,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
