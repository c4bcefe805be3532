/**
 * Test harness: a real node:http server on 127.0.0.1 (OS-chosen port) whose only handler is the
 * status worker, over Balancers built from the fixture configuration.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.js';
import type { LbConfig, StatusConfig } from '../../src/config/model.js';
import { Balancer } from '../../src/routing/balancer.js';
import { AdminState, createStatusWorker, type Credentials, type StatusContext } from '../../src/status/index.js';
import type { StateStore } from '../../src/status/persist.js';
import { rawGet } from '../helpers/http-client.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface LogEntry {
  level: 'info' | 'warn';
  obj: Record<string, unknown>;
  msg?: string;
}

export interface HarnessOptions {
  statusOverrides?: Partial<StatusConfig>;
  credentials?: Credentials | null;
  store?: StateStore | null;
  remoteAddress?: (req: IncomingMessage) => string | undefined;
  resolveHost?: (host: string) => Promise<boolean>;
  getMemberExtras?: StatusContext['getMemberExtras'];
  /** Address to listen on and connect to (default 127.0.0.1). */
  host?: string;
  /** StatusContext.ownNames (default: the listen address, as `jkbalancer start` gives it). */
  ownNames?: readonly string[];
}

export interface Harness {
  readonly base: string;
  readonly balancers: Map<string, Balancer>;
  readonly logs: LogEntry[];
  readonly status: StatusConfig;
  get(query: string, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: string }>;
  /** Like get, through node:http: any Host header (fetch cannot set one) and any raw path. */
  raw(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

export function buildBalancers(): { balancers: Map<string, Balancer>; ctxBase: ReturnType<typeof loadConfig> } {
  const ctxBase = loadConfig({ workersFile: FIXTURES + 'workers.properties', mountsFile: FIXTURES + 'uriworkermap.properties' });
  const balancers = new Map<string, Balancer>();
  for (const name of ctxBase.workers.list) {
    const wc = ctxBase.workers.workers.get(name);
    if (wc?.type === 'lb') balancers.set(name, new Balancer(wc as LbConfig, { maintainSec: ctxBase.workers.maintainSec, clock: { now: () => Date.now() } }));
  }
  return { balancers, ctxBase };
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const { balancers, ctxBase } = buildBalancers();
  const logs: LogEntry[] = [];
  const base = ctxBase.workers.workers.get('jkstatus') as StatusConfig;
  const status: StatusConfig = { ...base, ...opts.statusOverrides };
  const host = opts.host ?? '127.0.0.1';
  const logger = {
    info: (obj: object, msg?: string) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
  };
  const ctx: StatusContext = {
    workers: ctxBase.workers,
    mounts: ctxBase.mounts,
    balancers,
    serverName: 'www.example.com',
    serverPort: 80,
    ownNames: opts.ownNames ?? [host],
    startTime: Date.now() - 5000,
    admin: new AdminState(() => balancers, opts.store ?? null, logger),
    credentials: opts.credentials ?? null,
    logger,
    remoteAddress: opts.remoteAddress,
    resolveHost: opts.resolveHost,
    getMemberExtras: opts.getMemberExtras,
  };
  const worker = createStatusWorker(status, () => ctx);
  const server: Server = createServer((req, res) => worker.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/jkstatus`;
  return {
    base: url,
    balancers,
    logs,
    status,
    async get(query, headers = {}) {
      const r = await fetch(query === '' ? url : `${url}?${query}`, { headers, signal: AbortSignal.timeout(10_000) });
      return { status: r.status, headers: r.headers, body: await r.text() };
    },
    raw(path, headers = {}) {
      return rawGet(host, port, path, { host: new URL(url).host, ...headers });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parse mime=prop output into a key → value map (last wins, like a properties reader). */
export function parseProps(body: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of body.split('\n')) {
    if (!line) continue;
    const eq = line.indexOf('=');
    m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return m;
}

/** Parse one txt line `Kind: k=v k="v v"` into a map. */
export function parseTxtLine(line: string): Map<string, string> {
  const m = new Map<string, string>();
  const re = /(\w+)=("([^"]*)"|\S*)/g;
  const rest = line.slice(line.indexOf(':') + 1);
  for (const x of rest.matchAll(re)) m.set(x[1], x[3] ?? x[2]);
  return m;
}
