/**
 * The live status page (status-ui/): what a browser gets from the status worker for a plain
 * `cmd=list` in HTML. It is a static shell; all data comes from the status worker's own JSON API
 * (`?cmd=list&mime=json`) and all changes go through it (`cmd=update|reset|recover&mime=json`), so
 * access control, read-only mode and persistence stay the status worker's alone.
 *
 * Addressing uses the query string only, so the page works under any mount of the status worker
 * (`/jkstatus`, `/jkstatus/`, `/admin/status/*`):
 *   (no query) | cmd=list | mime=html | cmd=list&mime=html   → the page
 *   asset=app.js | asset=style.css                          → its assets
 *   anything else (opt=…, re=…, ui=classic, w=…, other commands and formats) → the status worker,
 *   so the server-rendered mod_jk-style HTML stays available, e.g. `?cmd=list&ui=classic`.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatusWorker } from './index.js';

const FILES: Record<string, string> = {
  page: 'index.html',
  'app.js': 'app.js',
  'style.css': 'style.css',
};
const TYPES: Record<string, string> = {
  page: 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** Everything from this origin, nothing inline, no framing; the favicon is a data: URL. */
export const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** status-ui/ beside the package root: two levels above src/status, three above dist/src/status. */
function findUiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'status-ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('status-ui/index.html not found above ' + dirname(fileURLToPath(import.meta.url)));
}

let cache: Map<string, Buffer> | null = null;

/** The three files, read once (they ship with the package and do not change while running). */
function files(): Map<string, Buffer> {
  if (cache === null) {
    const dir = findUiDir();
    cache = new Map(Object.entries(FILES).map(([key, file]) => [key, readFileSync(join(dir, file))]));
  }
  return cache;
}

/** Which page file a request asks for: 'page', an asset name, 'unknown-asset', or null (not ours). */
export function pageTarget(url: string): string | null {
  const q = url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const keys = [...params.keys()];
  if (keys.length === 1 && keys[0] === 'asset') {
    const name = params.get('asset') ?? '';
    return name in FILES && name !== 'page' ? name : 'unknown-asset';
  }
  const cmd = params.get('cmd');
  const mime = params.get('mime');
  const plain = keys.every((k) => k === 'cmd' || k === 'mime') && new Set(keys).size === keys.length;
  return plain && (cmd === null || cmd === 'list') && (mime === null || mime === 'html') ? 'page' : null;
}

/**
 * Serves the page or one of its assets when the request is for them (GET/HEAD only) and returns
 * true; returns false, having written nothing, for everything the status worker answers itself.
 */
export function servePage(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const target = pageTarget(req.url ?? '/');
  if (target === null) return false;
  const common = {
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': PAGE_CSP,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
  };
  if (target === 'unknown-asset') {
    res.writeHead(404, { ...common, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : 'No such status page asset.\n');
    return true;
  }
  const body = files().get(target) as Buffer;
  res.writeHead(200, { ...common, 'Content-Type': TYPES[target], 'Content-Length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}

/** A status worker that answers the page's requests itself and hands everything else on. */
export function withStatusPage(worker: StatusWorker): StatusWorker {
  return {
    handle(req, res) {
      if (!servePage(req, res)) worker.handle(req, res);
    },
  };
}
